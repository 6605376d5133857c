import type { DisabledReason } from '@internal/redis'
import { isRetryableStatus, parseRetryAfter, type AttemptResult } from './classify.ts'
import { retryDelayMs, type RetrySchedule } from './backoff.ts'
import { DeliveryCodes, findDeliveryError, WebhookTimeoutError } from './errors.ts'

/** Where a claimed entry stands when a decision is due. */
export type Outcome =
  | { kind: 'malformed', reason: string }
  /** No subscription takes it (filtered out, or the subscription is gone). */
  | { kind: 'unrouted' }
  /** Its circuit is open or its endpoint full until then: no attempt is spent. */
  | { kind: 'held', untilMs: number }
  /** Routed and admitted: ready for an attempt. */
  | { kind: 'claimed' }
  | { kind: 'attempted', result: AttemptResult }

/** The delivery policy of one subscription. */
export interface DeliveryPolicy {
  schedule: RetrySchedule
  /** webhook.max_retry_after, ms: the longest Retry-After honoured. */
  maxRetryAfterMs: number
  /** How long an event waits while its token endpoint is unavailable, ms (jittered down to half). */
  tokenWaitMs: number
  /** webhook.disable_after, ms: failing this long without a success disables the subscription. */
  disableAfterMs: number
}

/** The subscription as the decision sees it. */
export interface SubscriptionView {
  disabled: DisabledReason | null
  /** Epoch ms of the first failure since the last success, or null. */
  failingSinceMs: number | null
}

export type Decision =
  | { action: 'attempt' }
  /** Settled without a delivery to wait for: delivered, or taken by no subscription. */
  | { action: 'ack', delivered: boolean }
  /** Back later without spending an attempt. */
  | { action: 'wait', untilMs: number }
  /** `failure`: the receiver failed (it counts toward disable_after), not a step before it. */
  | { action: 'retry', atMs: number, failure: boolean }
  /** Kept for the subscription until it is enabled; `disable` disables it with that reason. */
  | { action: 'park', reason: string, disable?: 'gone' | 'failing' }
  | { action: 'dead', reason: string }

export interface Moment { nowMs: number, random: number }

/**
 * The one delivery decision, a pure function of where the entry stands, which attempt it
 * was (1-based), the subscription's policy and its state. 2xx delivers; a network error, a
 * timeout, 408, 429 and 5xx retry by the schedule (Retry-After honoured up to its cap) until
 * it is spent (dead) or the subscription has failed for disable_after (parked, disabled
 * `failing`); 410 parks and disables `gone`; any other status is a refusal (dead). A disabled
 * subscription's entries are parked. A delivery that could not be attempted decides by its
 * error's code; a token endpoint outage waits.
 */
export function decide (outcome: Outcome, attempt: number, policy: DeliveryPolicy, sub: SubscriptionView, at: Moment): Decision {
  switch (outcome.kind) {
    case 'malformed': return { action: 'dead', reason: `malformed entry: ${outcome.reason}` }
    case 'unrouted': return { action: 'ack', delivered: false }
    case 'held': return { action: 'wait', untilMs: outcome.untilMs }
    case 'claimed': return sub.disabled ? parkDisabled(sub.disabled) : { action: 'attempt' }
    case 'attempted': return settleAttempt(outcome.result, attempt, policy, sub, at)
  }
}

function parkDisabled (reason: DisabledReason): Decision {
  return { action: 'park', reason: `subscription disabled (${reason})` }
}

function settleAttempt (result: AttemptResult, attempt: number, policy: DeliveryPolicy, sub: SubscriptionView, at: Moment): Decision {
  if ('status' in result && result.status >= 200 && result.status < 300) return { action: 'ack', delivered: true }
  if ('status' in result && result.status === 410) return { action: 'park', reason: 'receiver answered 410', disable: 'gone' }
  const refused = 'error' in result ? findDeliveryError(result.error) : undefined
  if (refused?.code === DeliveryCodes.TOKEN_UNAVAILABLE) {
    return { action: 'wait', untilMs: at.nowMs + Math.round(policy.tokenWaitMs * (0.5 + 0.5 * at.random)) }
  }
  const retryable = 'status' in result ? isRetryableStatus(result.status) : !refused || refused.retryable
  if (!retryable) return { action: 'dead', reason: describe(result) }
  if (sub.disabled) return parkDisabled(sub.disabled)
  if (!refused && at.nowMs - (sub.failingSinceMs ?? at.nowMs) >= policy.disableAfterMs) {
    return { action: 'park', reason: `failing since ${new Date(sub.failingSinceMs!).toISOString()}: ${describe(result)}`, disable: 'failing' }
  }
  return retryOrGiveUp(result, attempt, policy, at, !refused)
}

function retryOrGiveUp (result: AttemptResult, attempt: number, policy: DeliveryPolicy, at: Moment, failure: boolean): Decision {
  const delayMs = retryDelayMs(policy.schedule, attempt, at.random)
  if (delayMs === undefined) return { action: 'dead', reason: `gave up after ${attempt} attempts: ${describe(result)}` }
  const retryAfterMs = 'status' in result ? parseRetryAfter(result.retryAfter, at.nowMs) : undefined
  return { action: 'retry', atMs: at.nowMs + (retryAfterMs === undefined ? delayMs : Math.min(retryAfterMs, policy.maxRetryAfterMs)), failure }
}

/** An attempt's failure in words, for logs and dead-letter records. */
export function describe (result: AttemptResult): string {
  if ('status' in result) return `receiver answered ${result.status}`
  const known = findDeliveryError(result.error) ?? (result.error instanceof WebhookTimeoutError ? result.error : undefined)
  return known ? `${known.code}: ${known.message}` : `request failed: ${result.error.message}`
}
