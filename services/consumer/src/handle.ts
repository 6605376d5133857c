import { createHash } from 'node:crypto'
import { decodeEvent, type QueuedEvent } from '@internal/events'
import type { Bucket, Subscription } from '@internal/buckets'
import type { DeliveryQueue, Lifecycle } from '@internal/redis'
import type { Logger } from '@internal/telemetry'
import { breakerOutcome, type AttemptResult } from './classify.ts'
import { fixedSchedule } from './backoff.ts'
import { decide, type Decision, type DeliveryPolicy, type Outcome, type SubscriptionView } from './decide.ts'
import type { Breakers } from './breaker.ts'
import type { EndpointSlots } from './endpoint-slots.ts'
import type { TokenSource } from './oauth.ts'
import type { WebhookRequest } from './deliver.ts'
import type { Target, TargetResolver } from './target.ts'
import type { Router } from './route.ts'
import type { ConsumerMetrics } from './metrics.ts'
import { sendWithAuth, webhookRequest } from './send.ts'
import { createAckBatcher } from './ack-batcher.ts'
import { createSubscriptionStates } from './subscription-states.ts'
import { attemptRecord, createSettler, logAttempt, reportedEvent, type Attempted, type Delivery } from './settle.ts'
import { noObserver, type DeliveryObserver } from './observer.ts'

export interface HandlerDeps {
  queue: DeliveryQueue
  lifecycle: Lifecycle
  consumerId: string
  /** Which subscriptions an entry goes to. */
  route: Router
  resolveTarget: TargetResolver
  tokens: TokenSource
  breakers: Breakers
  slots: EndpointSlots
  post: (req: WebhookRequest) => Promise<AttemptResult>
  /** The policy of a subscription without its own retry_schedule. */
  policy: DeliveryPolicy
  /** webhook.max_parked. */
  maxParked: number
  /** Records (or clears) that an endpoint answered 410 Gone. */
  markGone: (target: Target, bucket: string, gone: boolean) => Promise<void>
  observer?: DeliveryObserver | undefined
  metrics?: ConsumerMetrics | undefined
  log: Logger
  now: () => number
  random: () => number
}

const ACTIVE: SubscriptionView = { disabled: null, failingSinceMs: null }

/** A delivery admitted for an attempt (`sub` absent for an event no subscription took). */
interface Ready { d: Delivery, sub?: Subscription | undefined, view: SubscriptionView }
/** An attempt's result and when it started and ended. */
interface Tried { result: AttemptResult, started: number, finished: number }

/**
 * Takes one claimed entry to a settled state in three steps: admit (route it, check its
 * subscription's state, its circuit and its endpoint's slots), attempt (one POST), settle
 * (what decide() says: acknowledge, wait, retry, park or dead-letter). Throws only when Redis
 * fails; the entry then stays in the processing list and the stale check returns it.
 */
export function createHandler (deps: HandlerDeps) {
  const { breakers, slots, now } = deps
  const ack = createAckBatcher(deps.queue, deps.consumerId)
  // The per-delivery line carries only fields built here (no secret, no token, no query
  // string), so it needs only a short redaction list; the service-wide list of wildcard
  // paths costs about 50 us per line, a third of a delivery's CPU at thousands per second.
  const log = deps.log.child({}, { redact: { paths: ['token', 'authorization', 'err.headers', 'err.cause.headers'], censor: '[REDACTED]' } })
  const observer = deps.observer ?? noObserver
  const states = createSubscriptionStates(deps.lifecycle, now)
  const { settle, buryMalformed } = createSettler({ ...deps, states, observer, log })
  const policies = new WeakMap<Subscription, DeliveryPolicy>()

  function policyOf (sub: Subscription | undefined): DeliveryPolicy {
    if (sub?.retry_schedule === undefined) return deps.policy
    let policy = policies.get(sub)
    if (!policy) policies.set(sub, policy = { ...deps.policy, schedule: fixedSchedule(sub.retry_schedule) })
    return policy
  }

  function decideNow (outcome: Outcome, d: Delivery, sub: Subscription | undefined, view: SubscriptionView): Decision {
    return decide(outcome, d.attemptNo, policyOf(sub), view, { nowMs: now(), random: deps.random() })
  }

  return async function handle (entry: string, release: () => void = () => {}): Promise<void> {
    const ready = await admit(entry)
    if (!ready) return
    const tried = await attempt(ready.d, release)
    await settleAttempt(ready, tried)
  }

  /**
   * Admit: decode, route (a fan-out replaces the entry by one per subscription), then the
   * subscription's state (a disabled one's entry is parked), its target, circuit and endpoint
   * slot. Returns the delivery when it is to be attempted now; otherwise it is settled already.
   */
  async function admit (entry: string): Promise<Ready | undefined> {
    const decoded = decodeEvent(entry)
    if (!decoded.ok) {
      await malformed(entry, decoded.reason)
      return
    }
    const d = deliveryOf(entry, decoded.event, decoded.fields)
    const route = await deps.route(d.event)
    if (route.kind === 'deliver') return await admitFor(d, route.bucket, route.sub)
    if (route.kind === 'fan-out') await fanOut(d, route.subs.map(sub => sub.id))
    else if (route.kind === 'error') await settleAttempt({ d, view: ACTIVE }, { result: { error: route.error }, started: now(), finished: now() })
    else {
      if (route.why !== 'filtered') log.info({ bucket: d.event.bucket, event_id: d.event.event_id, subscription: d.subscription, why: route.why }, 'event not delivered')
      await settle(d, decideNow({ kind: 'unrouted' }, d, undefined, ACTIVE), undefined, ack)
    }
  }

  async function malformed (entry: string, reason: string): Promise<void> {
    log.warn({ reason }, 'malformed queue entry dead-lettered')
    const decision = decide({ kind: 'malformed', reason }, 0, deps.policy, ACTIVE, { nowMs: now(), random: 0 })
    await buryMalformed(entry, decision.action === 'dead' ? decision.reason : reason)
  }

  async function admitFor (d: Delivery, bucket: Bucket, sub: Subscription): Promise<Ready | undefined> {
    d.subscription = sub.id
    d.configDisabled = !sub.enabled
    let view = await states.get(d.event.bucket, sub)
    if (view.disabled) {
      if (await settle(d, decideNow({ kind: 'claimed' }, d, sub, view), undefined, ack)) return
      view = { ...view, disabled: null } // Redis holds it active: enabled since this replica looked
    }
    const outcome = await admission(d, bucket, sub)
    if (outcome.kind === 'attempted') {
      await settleAttempt({ d, sub, view }, { result: outcome.result, started: now(), finished: now() })
      return
    }
    const decision = decideNow(outcome, d, sub, view)
    if (decision.action === 'attempt') return { d, sub, view }
    await settle(d, decision, undefined, ack)
  }

  /** Its target (secrets, token credentials), its circuit and a slot of its endpoint. */
  async function admission (d: Delivery, bucket: Bucket, sub: Subscription): Promise<Outcome> {
    try {
      d.target = await deps.resolveTarget(bucket, sub)
    } catch (err) {
      return { kind: 'attempted', result: { error: err as Error } }
    }
    const admission = breakers.admit(d.target.breakerKey)
    if (!admission.allowed) return { kind: 'held', untilMs: admission.retryAtMs }
    if (!slots.tryAcquire(d.target.endpoint)) {
      breakers.record(d.target.breakerKey, undefined)
      return { kind: 'held', untilMs: now() + slots.deferMs(d.target.endpoint, deps.random) }
    }
    return { kind: 'claimed' }
  }

  // One entry per matching subscription replaces this one, each then settled on its own.
  async function fanOut (d: Delivery, ids: string[]): Promise<void> {
    const parts = ids.map(id => JSON.stringify({ ...d.fields, subscription: id }))
    await deps.queue.fanOut(deps.consumerId, d.entry, parts)
    deps.metrics?.deliveries.inc({ outcome: 'fanned_out' })
  }

  /** Attempt: one POST (with its token when configured); frees the slot and the worker. */
  async function attempt (d: Delivery, release: () => void): Promise<Tried> {
    const target = d.target!
    const started = now()
    if (observer !== noObserver) observer.report({ event: reportedEvent(d), subscription: d.subscription!, state: 'in_flight' })
    const result = await sendWithAuth(webhookRequest(d, target), target.credentials, deps.tokens, deps.post) // never throws
    const finished = now()
    // The endpoint's slot stays taken while its connection is (a 2xx body still draining).
    const free = () => slots.release(target.endpoint, now() - started)
    if ('status' in result && result.done) void result.done.then(free)
    else free()
    breakers.record(target.breakerKey, breakerOutcome(result))
    release()
    return { result, started, finished }
  }

  /** Settle: what decide() says of the attempt, carried out in Redis. */
  async function settleAttempt ({ d, sub, view }: Ready, { result, started, finished }: Tried): Promise<void> {
    const decision = decideNow({ kind: 'attempted', result }, d, sub, view)
    const attempted: Attempted = { result, record: attemptRecord(result, started, finished - started) }
    if (decision.action !== 'wait') logAttempt(log, d, result, decision, finished - started)
    else log.warn({ bucket: d.event.bucket, event_id: d.event.event_id, attempt: d.attemptNo, err: 'error' in result ? result.error : undefined }, 'token endpoint unavailable; event waits')
    if (d.target && 'status' in result) deps.metrics?.duration.observe((finished - started) / 1000)
    if (await settle(d, decision, attempted, ack)) return
    // Parking refused: the subscription is active again, so the attempt is settled as for one.
    await settle(d, decideNow({ kind: 'attempted', result }, d, sub, { ...view, disabled: null }), attempted, ack)
  }
}

function deliveryOf (entry: string, event: QueuedEvent, parsed: Record<string, unknown>): Delivery {
  const { subscription: _tag, ...fields } = parsed
  return { entry, event, fields, subscription: event.subscription, attemptNo: event.retry_count + 1, requestId: event.request_id ?? requestIdFor(entry) }
}

/**
 * The request_id of an entry that has none yet (a first attempt): derived from the entry's
 * text rather than random, so a delivery cut short by a crash keeps its X-Request-ID when
 * the reclaimed entry is delivered again (a fanned-out entry's text names its subscription,
 * so each subscription has its own). Formatted as a name-based UUID.
 */
export function requestIdFor (entry: string): string {
  const h = createHash('sha256').update(entry).digest('hex')
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
}
