import { createHash } from 'node:crypto'
import { decodeEvent, type QueuedEvent } from '@internal/events'
import { deadLetterRecord, type DeadLetterInput, type DeliveryQueue } from '@internal/redis'
import type { Logger } from '@internal/telemetry'
import { breakerOutcome, classify, type AttemptResult, type Verdict } from './classify.ts'
import { planRetry, type RetryPolicy } from './backoff.ts'
import type { Breakers } from './breaker.ts'
import type { EndpointSlots } from './endpoint-slots.ts'
import type { TokenSource } from './oauth.ts'
import type { WebhookRequest } from './deliver.ts'
import { safeUrl, type Target, type TargetResolver } from './target.ts'
import type { Router } from './route.ts'
import { findDeliveryError, WebhookTimeoutError } from './errors.ts'
import type { ConsumerMetrics } from './metrics.ts'
import { sendWithAuth } from './send.ts'
import { createAckBatcher } from './ack-batcher.ts'
import type { AttemptRecord, DeliveryObserver, DeliveryReport, DeliveryState } from './observer.ts'

export interface HandlerDeps {
  queue: DeliveryQueue
  consumerId: string
  /** Which subscriptions an entry goes to. */
  route: Router
  resolveTarget: TargetResolver
  tokens: TokenSource
  breakers: Breakers
  slots: EndpointSlots
  post: (req: WebhookRequest) => Promise<AttemptResult>
  retry: RetryPolicy
  /** Records (or clears) that an endpoint answered 410 Gone. */
  markGone: (target: Target, bucket: string, gone: boolean) => Promise<void>
  metrics?: ConsumerMetrics | undefined
  log: Logger
  now: () => number
  random: () => number
  /** How long an event waits while its token endpoint is unavailable, ms (jittered down to half). */
  tokenWaitMs?: number
  /** Told of every settled step (history, activity); nothing by default. */
  observer?: DeliveryObserver | undefined
}

/**
 * A claimed entry: `fields` are the event's without the subscription tag (the body never
 * carries it); `subscription` is the one it is delivered to, written into the entry on a retry
 * or a dead letter, so those go back to that subscription only.
 */
interface Claimed { entry: string, event: QueuedEvent, fields: Record<string, unknown>, subscription?: string | undefined }

/** The entry as its subscription's own: what a retry, a dead letter and a replay carry. */
function taggedText (claimed: Claimed, extra: Record<string, unknown> = {}): string {
  if (claimed.subscription === undefined && Object.keys(extra).length === 0) return claimed.entry
  return JSON.stringify({ ...claimed.fields, ...extra, ...(claimed.subscription !== undefined && { subscription: claimed.subscription }) })
}

/**
 * Takes one claimed entry to a settled state: delivered (ack), deferred or retried later
 * (retry set), or dead-lettered. Throws only when Redis fails; the entry then stays in the
 * processing list and the worker's stale check returns it to the queue.
 */
export function createHandler (deps: HandlerDeps) {
  const { queue, consumerId, breakers, slots, now } = deps
  const ack = createAckBatcher(queue, consumerId)
  // The per-delivery line carries only fields built here (no secret, no token, no query
  // string), so it needs only a short redaction list; the service-wide list of wildcard
  // paths costs about 50 us per line, a third of a delivery's CPU at thousands per second.
  const log = deps.log.child({}, { redact: { paths: ['token', 'authorization', 'err.headers', 'err.cause.headers'], censor: '[REDACTED]' } })

  async function bury (entry: string, fields: DeadLetterInput, recorded = entry): Promise<void> {
    const record = deadLetterRecord(recorded, fields, new Date(now()))
    await queue.deadLetter(consumerId, entry, JSON.stringify(record))
    deps.metrics?.deliveries.inc({ outcome: 'dead' })
  }

  // Waiting for the breaker or a free endpoint slot spends no attempt: the entry is unchanged
  // but for the subscription it is now for.
  async function defer (claimed: Claimed, dueMs: number): Promise<void> {
    await queue.retryLater(consumerId, claimed.entry, dueMs, taggedText(claimed))
    deps.metrics?.deliveries.inc({ outcome: 'deferred' })
  }

  function observe (claimed: Claimed, state: DeliveryState, attempt?: AttemptRecord, extra: { next_at?: number, reason?: string } = {}): void {
    if (!deps.observer) return
    const { retry_count: _n, request_id: _r, delivery_attempt_time: _t, ...event } = claimed.fields
    deps.observer.report({ event: event as DeliveryReport['event'], subscription: claimed.subscription ?? 'default', state, ...(attempt && { attempt }), ...extra })
  }

  return async function handle (entry: string, release: () => void = () => {}): Promise<void> {
    const decoded = decodeEvent(entry)
    if (!decoded.ok) {
      log.warn({ reason: decoded.reason }, 'malformed queue entry dead-lettered')
      return bury(entry, { reason: `malformed entry: ${decoded.reason}`, attempts: 0, last_status: null, response_excerpt: null })
    }
    const { subscription: _tag, ...fields } = JSON.parse(entry) as Record<string, unknown>
    const claimed: Claimed = { entry, event: decoded.event, fields, subscription: decoded.event.subscription }
    const attemptNo = decoded.event.retry_count + 1
    const route = await deps.route(decoded.event)
    if (route.kind === 'error') return settle(claimed, undefined, attemptNo, requestIdOf(claimed), { error: route.error }, 0)
    if (route.kind === 'none') return skip(claimed, route.why)
    if (route.kind === 'fan-out') return fanOut(claimed, route.subs.map(sub => sub.id))
    claimed.subscription = route.sub.id
    let target: Target
    try {
      target = await deps.resolveTarget(route.bucket, route.sub)
    } catch (err) {
      return settle(claimed, undefined, attemptNo, requestIdOf(claimed), { error: err as Error }, 0)
    }
    const admission = breakers.admit(target.breakerKey)
    if (!admission.allowed) return defer(claimed, admission.retryAtMs)
    if (!slots.tryAcquire(target.endpoint)) {
      breakers.record(target.breakerKey, undefined)
      return defer(claimed, now() + slots.deferMs(target.endpoint, deps.random))
    }
    await attempt(claimed, target, release)
  }

  // One entry per matching subscription replaces this one, each then settled on its own.
  async function fanOut (claimed: Claimed, ids: string[]): Promise<void> {
    const parts = ids.map(id => JSON.stringify({ ...claimed.fields, subscription: id }))
    await queue.fanOut(consumerId, claimed.entry, parts)
    deps.metrics?.deliveries.inc({ outcome: 'fanned_out' })
  }

  async function skip (claimed: Claimed, why: string): Promise<void> {
    await ack(claimed.entry)
    deps.metrics?.deliveries.inc({ outcome: 'skipped' })
    if (why !== 'filtered') log.info({ bucket: claimed.event.bucket, event_id: claimed.event.event_id, subscription: claimed.subscription, why }, 'event not delivered')
  }

  async function attempt (claimed: Claimed, target: Target, release: () => void): Promise<void> {
    const { event } = claimed
    const attemptNo = event.retry_count + 1
    const requestId = requestIdOf(claimed)
    const started = now()
    observe(claimed, 'in_flight')
    const request: WebhookRequest = {
      url: target.url,
      fields: claimed.fields,
      raw: event.subscription === undefined ? claimed.entry : undefined,
      eventId: event.event_id,
      bucket: event.bucket,
      eventType: event.event_type,
      attempt: attemptNo,
      requestId,
      signingKeys: target.signingKeys,
      format: target.format,
      formatContext: target.formatContext
    }
    const result = await sendWithAuth(request, target.credentials, deps.tokens, deps.post) // never throws
    const durationMs = now() - started
    // The endpoint's slot stays taken while its connection is (a 2xx body still draining).
    const free = () => slots.release(target.endpoint, now() - started)
    if ('status' in result && result.done) void result.done.then(free)
    else free()
    breakers.record(target.breakerKey, breakerOutcome(result))
    release()
    await settle(claimed, target, attemptNo, requestId, result, durationMs)
  }

  async function settle (claimed: Claimed, target: Target | undefined, attemptNo: number, requestId: string, result: AttemptResult, durationMs: number): Promise<void> {
    const verdict = classify(result, now())
    if (verdict.kind === 'wait') {
      // The token endpoint is down, not the receiver: wait, as for an open circuit.
      log.warn({ bucket: claimed.event.bucket, event_id: claimed.event.event_id, attempt: attemptNo, err: 'error' in result ? result.error : undefined }, 'token endpoint unavailable; event waits')
      return defer(claimed, now() + Math.round((deps.tokenWaitMs ?? 5000) * (0.5 + 0.5 * deps.random())))
    }
    logAttempt(claimed.event, target, requestId, attemptNo, result, verdict, durationMs)
    if (target && 'status' in result) deps.metrics?.duration.observe(durationMs / 1000)
    const record = attemptRecord(result, now() - durationMs, durationMs)
    if (verdict.kind === 'delivered') return delivered(claimed, target).then(() => observe(claimed, 'delivered', record))
    if (verdict.kind === 'dead') return refusedFor(claimed, target, attemptNo, result, verdict.gone).then(() => observe(claimed, 'dead', record, { reason: describe(result) }))
    const plan = planRetry(attemptNo, verdict.retryAfterMs, deps.retry, deps.random)
    if (!plan.retry) {
      const reason = `gave up after ${attemptNo} attempts: ${describe(result)}`
      await bury(claimed.entry, deadFields(reason, attemptNo, result), taggedText(claimed))
      return observe(claimed, 'dead', record, { reason })
    }
    const updated = taggedText(claimed, { retry_count: attemptNo, request_id: requestId })
    const dueMs = now() + plan.delayMs
    await queue.retryLater(consumerId, claimed.entry, dueMs, updated)
    observe(claimed, 'scheduled', record, { next_at: dueMs })
    deps.metrics?.deliveries.inc({ outcome: 'retry' })
    deps.metrics?.retries.inc()
  }

  async function delivered (claimed: Claimed, target: Target | undefined): Promise<void> {
    await ack(claimed.entry)
    deps.metrics?.deliveries.inc({ outcome: 'delivered' })
    deps.metrics?.latency.observe(Math.max(0, now() / 1000 - claimed.event.detection_time))
    if (target) await deps.markGone(target, claimed.event.bucket, false)
  }

  async function refusedFor (claimed: Claimed, target: Target | undefined, attemptNo: number, result: AttemptResult, gone: boolean): Promise<void> {
    await bury(claimed.entry, deadFields(describe(result), attemptNo, result), taggedText(claimed))
    if (gone && target) await deps.markGone(target, claimed.event.bucket, true)
  }

  function logAttempt (event: QueuedEvent, target: Target | undefined, requestId: string, attemptNo: number, result: AttemptResult, verdict: Verdict, durationMs: number): void {
    const fields = {
      bucket: event.bucket,
      object_key: event.key,
      event_type: event.event_type,
      event_id: event.event_id,
      subscription: target?.subscription ?? null,
      webhook_url: target ? safeUrl(target.url) : null,
      response_code: 'status' in result ? result.status : null,
      duration_ms: durationMs,
      request_id: requestId,
      attempt: attemptNo,
      outcome: verdict.kind
    }
    if (verdict.kind === 'delivered') log.info(fields, 'webhook delivered')
    else log.warn({ ...fields, err: 'error' in result ? result.error : undefined }, 'webhook delivery failed')
  }
}

// request_id is per delivery: kept across retries, derived from the entry on a first attempt
// (a fanned-out entry's text names its subscription, so each subscription has its own).
function requestIdOf (claimed: Claimed): string {
  return claimed.event.request_id ?? requestIdFor(claimed.entry)
}

function describe (result: AttemptResult): string {
  if ('status' in result) return `receiver answered ${result.status}`
  const known = findDeliveryError(result.error) ?? (result.error instanceof WebhookTimeoutError ? result.error : undefined)
  return known ? `${known.code}: ${known.message}` : `request failed: ${result.error.message}`
}

function attemptRecord (result: AttemptResult, at: number, durationMs: number): AttemptRecord {
  if ('status' in result) return { at, status: result.status, duration_ms: durationMs, error: null, excerpt: result.excerpt ?? null }
  return { at, status: null, duration_ms: durationMs, error: describe(result), excerpt: null }
}

function deadFields (reason: string, attempts: number, result: AttemptResult): DeadLetterInput {
  const status = 'status' in result ? result.status : null
  const excerpt = 'status' in result ? result.excerpt ?? null : null
  return { reason, attempts, last_status: status, response_excerpt: excerpt }
}

/**
 * The request_id of an entry that has none yet (a first attempt): derived from the entry's
 * text rather than random, so a delivery cut short by a crash keeps its X-Request-ID when
 * the reclaimed entry is delivered again. Formatted as a name-based UUID.
 */
export function requestIdFor (entry: string): string {
  const h = createHash('sha256').update(entry).digest('hex')
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
}
