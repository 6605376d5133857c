import { createHash } from 'node:crypto'
import { decodeEvent, type QueuedEvent } from '@internal/events'
import { deadLetterRecord, type DeadLetterInput, type DeliveryQueue } from '@internal/redis'
import type { Bucket } from '@internal/buckets'
import type { Logger } from '@internal/telemetry'
import { breakerOutcome, classify, type AttemptResult, type Verdict } from './classify.ts'
import { planRetry, type RetryPolicy } from './backoff.ts'
import type { Breakers } from './breaker.ts'
import type { EndpointSlots } from './endpoint-slots.ts'
import type { TokenSource } from './oauth.ts'
import type { WebhookRequest } from './deliver.ts'
import { safeUrl, type Target, type TargetResolver } from './target.ts'
import { findDeliveryError, WebhookTimeoutError } from './errors.ts'
import type { ConsumerMetrics } from './metrics.ts'
import { sendWithAuth } from './send.ts'
import { createAckBatcher } from './ack-batcher.ts'

export interface HandlerDeps {
  queue: DeliveryQueue
  consumerId: string
  /** The live bucket view; `fetch` reads one bucket from the store when the view lacks it (a change not seen yet). */
  buckets: { get (name: string): Bucket | undefined, fetch? (name: string): Promise<Bucket | undefined> }
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
}

interface Claimed { entry: string, event: QueuedEvent, fields: Record<string, unknown> }

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

  async function bury (entry: string, fields: DeadLetterInput): Promise<void> {
    const record = deadLetterRecord(entry, fields, new Date(now()))
    await queue.deadLetter(consumerId, entry, JSON.stringify(record))
    deps.metrics?.deliveries.inc({ outcome: 'dead' })
  }

  // Waiting for the breaker or a free endpoint slot spends no attempt: the entry is unchanged.
  async function defer (entry: string, dueMs: number): Promise<void> {
    await queue.retryLater(consumerId, entry, dueMs, entry)
    deps.metrics?.deliveries.inc({ outcome: 'deferred' })
  }

  return async function handle (entry: string, release: () => void = () => {}): Promise<void> {
    const decoded = decodeEvent(entry)
    if (!decoded.ok) {
      log.warn({ reason: decoded.reason }, 'malformed queue entry dead-lettered')
      return bury(entry, { reason: `malformed entry: ${decoded.reason}`, attempts: 0, last_status: null, response_excerpt: null })
    }
    const claimed: Claimed = { entry, event: decoded.event, fields: JSON.parse(entry) }
    let target: Target
    try {
      target = await deps.resolveTarget(decoded.event.bucket, await findBucket(decoded.event.bucket))
    } catch (err) {
      return settle(claimed, undefined, decoded.event.retry_count + 1, decoded.event.request_id ?? requestIdFor(entry), { error: err as Error }, 0)
    }
    const admission = breakers.admit(target.endpoint)
    if (!admission.allowed) return defer(entry, admission.retryAtMs)
    if (!slots.tryAcquire(target.endpoint)) {
      breakers.record(target.endpoint, undefined)
      return defer(entry, now() + slots.deferMs(target.endpoint, deps.random))
    }
    await attempt(claimed, target, release)
  }

  async function findBucket (name: string): Promise<Bucket | undefined> {
    return deps.buckets.get(name) ?? await deps.buckets.fetch?.(name)
  }

  async function attempt (claimed: Claimed, target: Target, release: () => void): Promise<void> {
    const { event } = claimed
    const attemptNo = event.retry_count + 1
    const requestId = event.request_id ?? requestIdFor(claimed.entry)
    const started = now()
    const request: WebhookRequest = {
      url: target.url,
      fields: claimed.fields,
      raw: claimed.entry,
      eventId: event.event_id,
      bucket: event.bucket,
      eventType: event.event_type,
      attempt: attemptNo,
      requestId,
      signingKey: target.signingKey
    }
    const result = await sendWithAuth(request, target.credentials, deps.tokens, deps.post) // never throws
    const durationMs = now() - started
    // The endpoint's slot stays taken while its connection is (a 2xx body still draining).
    const free = () => slots.release(target.endpoint, now() - started)
    if ('status' in result && result.done) void result.done.then(free)
    else free()
    breakers.record(target.endpoint, breakerOutcome(result))
    release()
    await settle(claimed, target, attemptNo, requestId, result, durationMs)
  }

  async function settle (claimed: Claimed, target: Target | undefined, attemptNo: number, requestId: string, result: AttemptResult, durationMs: number): Promise<void> {
    const verdict = classify(result, now())
    if (verdict.kind === 'wait') {
      // The token endpoint is down, not the receiver: wait, as for an open circuit.
      log.warn({ bucket: claimed.event.bucket, event_id: claimed.event.event_id, attempt: attemptNo, err: 'error' in result ? result.error : undefined }, 'token endpoint unavailable; event waits')
      return defer(claimed.entry, now() + Math.round((deps.tokenWaitMs ?? 5000) * (0.5 + 0.5 * deps.random())))
    }
    logAttempt(claimed.event, target, requestId, attemptNo, result, verdict, durationMs)
    if (target && 'status' in result) deps.metrics?.duration.observe(durationMs / 1000)
    if (verdict.kind === 'delivered') return delivered(claimed, target)
    if (verdict.kind === 'dead') return refusedFor(claimed, target, attemptNo, result, verdict.gone)
    const plan = planRetry(attemptNo, verdict.retryAfterMs, deps.retry, deps.random)
    if (!plan.retry) return bury(claimed.entry, deadFields(`gave up after ${attemptNo} attempts: ${describe(result)}`, attemptNo, result))
    const updated = JSON.stringify({ ...claimed.fields, retry_count: attemptNo, request_id: requestId })
    await queue.retryLater(consumerId, claimed.entry, now() + plan.delayMs, updated)
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
    await bury(claimed.entry, deadFields(describe(result), attemptNo, result))
    if (gone && target) await deps.markGone(target, claimed.event.bucket, true)
  }

  function logAttempt (event: QueuedEvent, target: Target | undefined, requestId: string, attemptNo: number, result: AttemptResult, verdict: Verdict, durationMs: number): void {
    const fields = {
      bucket: event.bucket,
      object_key: event.key,
      event_type: event.event_type,
      event_id: event.event_id,
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

function describe (result: AttemptResult): string {
  if ('status' in result) return `receiver answered ${result.status}`
  const known = findDeliveryError(result.error) ?? (result.error instanceof WebhookTimeoutError ? result.error : undefined)
  return known ? `${known.code}: ${known.message}` : `request failed: ${result.error.message}`
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
