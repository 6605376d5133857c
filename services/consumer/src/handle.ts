import { createHash } from 'node:crypto'
import { decodeEvent } from '@internal/events'
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
import { safeUrl, type Target, type TargetResolver } from './target.ts'
import type { Router } from './route.ts'
import type { ConsumerMetrics } from './metrics.ts'
import { sendWithAuth } from './send.ts'
import { createAckBatcher } from './ack-batcher.ts'
import { createSubscriptionStates } from './subscription-states.ts'
import { attemptRecord, createSettler, reportedEvent, type Attempted, type Delivery } from './settle.ts'
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
    const decoded = decodeEvent(entry)
    if (!decoded.ok) {
      log.warn({ reason: decoded.reason }, 'malformed queue entry dead-lettered')
      const decision = decide({ kind: 'malformed', reason: decoded.reason }, 0, deps.policy, ACTIVE, { nowMs: now(), random: 0 })
      return await buryMalformed(entry, decision.action === 'dead' ? decision.reason : decoded.reason)
    }
    const { subscription: _tag, ...fields } = JSON.parse(entry) as Record<string, unknown>
    const { event } = decoded
    const d: Delivery = { entry, event, fields, subscription: event.subscription, attemptNo: event.retry_count + 1, requestId: event.request_id ?? requestIdFor(entry) }
    const route = await deps.route(event)
    if (route.kind === 'fan-out') return await fanOut(d, route.subs.map(sub => sub.id))
    if (route.kind === 'error') return await settleAttempt(d, undefined, ACTIVE, { error: route.error }, now(), now())
    if (route.kind === 'none') {
      if (route.why !== 'filtered') log.info({ bucket: event.bucket, event_id: event.event_id, subscription: d.subscription, why: route.why }, 'event not delivered')
      await settle(d, decideNow({ kind: 'unrouted' }, d, undefined, ACTIVE), undefined, ack)
      return
    }
    d.subscription = route.sub.id
    d.configDisabled = !route.sub.enabled
    let view = await states.get(event.bucket, route.sub)
    if (view.disabled) {
      if (await settle(d, decideNow({ kind: 'claimed' }, d, route.sub, view), undefined, ack)) return
      view = { ...view, disabled: null } // Redis holds it active: enabled since this replica looked
    }
    const admitted = await admit(d, route.bucket, route.sub)
    if (admitted.kind === 'attempted') return await settleAttempt(d, route.sub, view, admitted.result, now(), now())
    const decision = decideNow(admitted, d, route.sub, view)
    if (decision.action !== 'attempt') await settle(d, decision, undefined, ack)
    else await attempt(d, route.sub, view, release)
  }

  /** Admit (a disabled subscription's entry is parked before): its target, circuit and endpoint slot. */
  async function admit (d: Delivery, bucket: Bucket, sub: Subscription): Promise<Outcome> {
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

  /** Attempt: one POST (with its token when configured), then settle by its result. */
  async function attempt (d: Delivery, sub: Subscription, view: SubscriptionView, release: () => void): Promise<void> {
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
    await settleAttempt(d, sub, view, result, started, finished)
  }

  async function settleAttempt (d: Delivery, sub: Subscription | undefined, view: SubscriptionView, result: AttemptResult, started: number, finished: number): Promise<void> {
    const decision = decideNow({ kind: 'attempted', result }, d, sub, view)
    const attempted: Attempted = { result, record: attemptRecord(result, started, finished - started) }
    if (decision.action !== 'wait') logAttempt(d, result, decision, finished - started)
    else log.warn({ bucket: d.event.bucket, event_id: d.event.event_id, attempt: d.attemptNo, err: 'error' in result ? result.error : undefined }, 'token endpoint unavailable; event waits')
    if (d.target && 'status' in result) deps.metrics?.duration.observe((finished - started) / 1000)
    if (await settle(d, decision, attempted, ack)) return
    // Parking refused: the subscription is active again, so the attempt is settled as for one.
    await settle(d, decideNow({ kind: 'attempted', result }, d, sub, { ...view, disabled: null }), attempted, ack)
  }

  function logAttempt (d: Delivery, result: AttemptResult, decision: Decision, durationMs: number): void {
    const fields = {
      bucket: d.event.bucket,
      object_key: d.event.key,
      event_type: d.event.event_type,
      event_id: d.event.event_id,
      subscription: d.target?.subscription ?? null,
      webhook_url: d.target ? safeUrl(d.target.url) : null,
      response_code: 'status' in result ? result.status : null,
      duration_ms: durationMs,
      request_id: d.requestId,
      attempt: d.attemptNo,
      outcome: decision.action === 'ack' ? 'delivered' : decision.action
    }
    if (decision.action === 'ack') log.info(fields, 'webhook delivered')
    else log.warn({ ...fields, err: 'error' in result ? result.error : undefined }, 'webhook delivery failed')
  }
}

function webhookRequest (d: Delivery, target: Target): WebhookRequest {
  return {
    url: target.url,
    fields: d.fields,
    raw: d.event.subscription === undefined ? d.entry : undefined,
    eventId: d.event.event_id,
    bucket: d.event.bucket,
    eventType: d.event.event_type,
    attempt: d.attemptNo,
    requestId: d.requestId,
    signingKeys: target.signingKeys,
    format: target.format,
    formatContext: target.formatContext
  }
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
