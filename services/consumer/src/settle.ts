import type { QueuedEvent } from '@internal/events'
import { deadLetterRecord, type DeadLetterInput, type DeliveryQueue, type Lifecycle } from '@internal/redis'
import type { Logger } from '@internal/telemetry'
import type { AttemptResult } from './classify.ts'
import { describe, type Decision } from './decide.ts'
import { safeUrl, type Target } from './target.ts'
import type { ConsumerMetrics } from './metrics.ts'
import type { SubscriptionStates } from './subscription-states.ts'
import { noObserver, type AttemptRecord, type DeliveryObserver, type DeliveryReport, type DeliveryState } from './observer.ts'

/**
 * A claimed entry on its way: `fields` are the event's without the subscription tag (the
 * body never carries it); `subscription` is the one it is delivered to, written into the
 * entry on a retry, a park or a dead letter, so those go back to that subscription only.
 */
export interface Delivery {
  entry: string
  event: QueuedEvent
  fields: Record<string, unknown>
  subscription?: string | undefined
  /** The subscription's config says disabled. */
  configDisabled?: boolean
  attemptNo: number
  requestId: string
  target?: Target | undefined
  /** What the observer is told of the event, once built. */
  reported?: ReportedEvent
}

type ReportedEvent = DeliveryReport['event']

/** One attempt as settled: its result and the record the observer gets. */
export interface Attempted { result: AttemptResult, record: AttemptRecord }

export interface SettleDeps {
  queue: DeliveryQueue
  lifecycle: Lifecycle
  states: SubscriptionStates
  consumerId: string
  /** webhook.max_parked. */
  maxParked: number
  /** Records (or clears) that an endpoint answered 410 Gone. */
  markGone: (target: Target, bucket: string, gone: boolean) => Promise<void>
  observer: DeliveryObserver
  metrics?: ConsumerMetrics | undefined
  log: Logger
  now: () => number
}

/** An enable this recent outweighs a replica's config view that still says disabled, ms. */
const ENABLE_GRACE_MS = 10_000

/** The entry as its subscription's own: what a retry, a park and a dead letter carry. */
export function taggedText (d: Delivery, extra: Record<string, unknown> = {}): string {
  if (d.subscription === undefined && Object.keys(extra).length === 0) return d.entry
  return JSON.stringify({ ...d.fields, ...extra, ...(d.subscription !== undefined && { subscription: d.subscription }) })
}

/** Carries out a decision in Redis (one script each), then counts it and tells the observer. */
export function createSettler (deps: SettleDeps) {
  const { queue, consumerId, now } = deps
  const count = (outcome: string) => deps.metrics?.deliveries.inc({ outcome })

  function report (d: Delivery, state: DeliveryState, extra: { attempt?: AttemptRecord | undefined, next_at?: number, reason?: string }): void {
    if (d.subscription === undefined || deps.observer === noObserver) return
    deps.observer.report({ event: reportedEvent(d), subscription: d.subscription, state, ...extra })
  }

  async function bury (d: Delivery, reason: string, attempted?: Attempted): Promise<void> {
    const fields = deadFields(reason, attempted ? d.attemptNo : d.event.retry_count, attempted?.result)
    const record = deadLetterRecord(taggedText(d), fields, new Date(now()))
    if (!await queue.deadLetter(consumerId, d.entry, JSON.stringify(record))) return
    count('dead')
    report(d, 'dead', { attempt: attempted?.record, reason })
  }

  async function wait (d: Delivery, untilMs: number, attempted?: Attempted): Promise<void> {
    if (!await queue.retryLater(consumerId, d.entry, untilMs, taggedText(d))) return
    count('deferred')
    if (attempted) report(d, 'scheduled', { attempt: attempted.record, next_at: untilMs })
  }

  async function retry (d: Delivery, atMs: number, failure: boolean, attempted?: Attempted): Promise<void> {
    const updated = taggedText(d, { retry_count: d.attemptNo, request_id: d.requestId })
    const { bucket } = d.event
    if (failure && d.subscription !== undefined) {
      const since = await deps.lifecycle.retryFailing(consumerId, d.entry, atMs, updated, { bucket, subscription: d.subscription, nowMs: now() })
      if (since === null) return
      deps.states.note(bucket, d.subscription, { failingSinceMs: since })
    } else if (!await queue.retryLater(consumerId, d.entry, atMs, updated)) return
    count('retry')
    deps.metrics?.retries.inc()
    report(d, 'scheduled', { attempt: attempted?.record, next_at: atMs })
  }

  async function park (d: Delivery, reason: string, disable: 'gone' | 'failing' | undefined, attempted?: Attempted): Promise<boolean> {
    const sub = d.subscription!
    const { bucket } = d.event
    // Parked with a fresh schedule: enabling the subscription starts its delivery over.
    const text = taggedText(d, { retry_count: 0, request_id: d.requestId })
    const parked = await deps.lifecycle.park(consumerId, d.entry, text, { bucket, subscription: sub, nowMs: now(), maxParked: deps.maxParked, disable, configDisabled: d.configDisabled === true, graceMs: ENABLE_GRACE_MS })
    if (parked.kind === 'active') {
      deps.states.note(bucket, sub, { disabled: null })
      return false
    }
    if (parked.kind === 'lost') return true
    if (disable) {
      deps.states.note(bucket, sub, { disabled: disable })
      deps.log.warn({ bucket, subscription: sub, reason: disable }, 'subscription disabled')
    }
    if (disable === 'gone' && d.target) await deps.markGone(d.target, bucket, true)
    count('parked')
    if (parked.overflowed > 0) deps.metrics?.deliveries.inc({ outcome: 'dead' }, parked.overflowed)
    report(d, 'parked', { attempt: attempted?.record, reason })
    return true
  }

  /** An entry that is not an event: dead-lettered as it is, with the reason. */
  async function buryMalformed (entry: string, reason: string): Promise<void> {
    const record = deadLetterRecord(entry, { reason, attempts: 0, last_status: null, response_excerpt: null }, new Date(now()))
    if (await queue.deadLetter(consumerId, entry, JSON.stringify(record))) count('dead')
  }

  return { buryMalformed, settle }

  /**
   * Returns false only for a park that Redis refused because the subscription is active (an
   * enable this replica has not seen yet): the entry is still ours, to be decided again.
   */
  async function settle (d: Delivery, decision: Decision, attempted: Attempted | undefined, ack: (entry: string) => Promise<boolean>): Promise<boolean> {
    switch (decision.action) {
      case 'attempt': throw new Error('an attempt is not a settlement')
      case 'park': return await park(d, decision.reason, decision.disable, attempted)
      case 'ack': await acknowledge(d, decision.delivered, attempted, ack); break
      case 'wait': await wait(d, decision.untilMs, attempted); break
      case 'retry': await retry(d, decision.atMs, decision.failure, attempted); break
      case 'dead': await bury(d, decision.reason, attempted); break
    }
    return true
  }

  async function acknowledge (d: Delivery, delivered: boolean, attempted: Attempted | undefined, ack: (entry: string) => Promise<boolean>): Promise<void> {
    await ack(d.entry) // delivered either way: a reclaimed copy is acknowledged by the receiver's webhook-id
    count(delivered ? 'delivered' : 'skipped')
    if (!delivered) return
    deps.metrics?.latency.observe(Math.max(0, now() / 1000 - d.event.detection_time))
    report(d, 'delivered', { attempt: attempted?.record })
    if (d.subscription !== undefined) await deps.states.succeeded(d.event.bucket, d.subscription)
    if (d.target) await deps.markGone(d.target, d.event.bucket, false)
  }
}

function deadFields (reason: string, attempts: number, result: AttemptResult | undefined): DeadLetterInput {
  const answer = result && 'status' in result ? result : undefined
  return { reason, attempts, last_status: answer?.status ?? null, response_excerpt: answer?.excerpt ?? null }
}

/** The event as the observer gets it: the queued fields without the subscription tag (built once per delivery, never changed). */
export function reportedEvent (d: Delivery): ReportedEvent {
  const e = d.event
  d.reported ??= { ...d.fields, event_id: e.event_id, bucket: e.bucket, key: e.key, event_type: e.event_type }
  return d.reported
}

/** The observer's record of one attempt (the excerpt within 1 KiB). */
export function attemptRecord (result: AttemptResult, startedMs: number, durationMs: number): AttemptRecord {
  const answer = 'status' in result ? result : undefined
  return { at: startedMs, status: answer?.status ?? null, duration_ms: durationMs, error: answer ? null : describe(result), excerpt: answer?.excerpt?.slice(0, 1024) ?? null }
}

/** The attempt's one log line: delivered at info, anything else at warn with the error. */
export function logAttempt (log: Logger, d: Delivery, result: AttemptResult, decision: Decision, durationMs: number): void {
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
