/**
 * What one attempt produced: an HTTP answer, or an error before any answer. `done` settles
 * once the answer's connection is free (a 2xx body drained in the background).
 */
export type AttemptResult =
  | { status: number, retryAfter?: string | null, excerpt?: string, done?: Promise<void> }
  | { error: Error }

import { DeliveryCodes, findDeliveryError } from './errors.ts'

export type Verdict =
  | { kind: 'delivered' }
  /** The receiver was not tried (its token endpoint is down): wait without spending an attempt. */
  | { kind: 'wait' }
  | { kind: 'retry', retryAfterMs?: number }
  | { kind: 'dead', gone: boolean }

/**
 * The outcome rules in one place. 2xx delivered; a network error, a timeout, 408, 429 and
 * 5xx are worth another attempt (honouring Retry-After); any other status means the
 * receiver refused this event, so retrying will not help (410 also says the endpoint is gone).
 * A delivery that could not be attempted (a DeliveryError) is dead unless its code says a
 * later attempt may succeed; a token endpoint outage waits without spending an attempt.
 */
export function classify (result: AttemptResult, nowMs: number): Verdict {
  if ('error' in result) return classifyError(result.error)
  const { status } = result
  if (status >= 200 && status < 300) return { kind: 'delivered' }
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(result.retryAfter, nowMs)
    return retryAfterMs === undefined ? { kind: 'retry' } : { kind: 'retry', retryAfterMs }
  }
  return { kind: 'dead', gone: status === 410 }
}

// An error before any answer: a delivery that could not be attempted says itself whether a
// later attempt may succeed; anything else (a network error, a timeout) is worth another.
function classifyError (error: Error): Verdict {
  const refused = findDeliveryError(error)
  if (refused?.code === DeliveryCodes.TOKEN_UNAVAILABLE) return { kind: 'wait' }
  if (refused && !refused.retryable) return { kind: 'dead', gone: false }
  return { kind: 'retry' }
}

/** Retry-After as delay-seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
export function parseRetryAfter (value: string | null | undefined, nowMs: number): number | undefined {
  if (!value) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

/**
 * What the circuit breaker counts: true = the endpoint answered, false = it failed,
 * undefined = no verdict on the endpoint itself (a token endpoint's failure, a refused address).
 */
export function breakerOutcome (result: AttemptResult): boolean | undefined {
  if ('status' in result) return !(result.status === 408 || result.status === 429 || result.status >= 500)
  return findDeliveryError(result.error) ? undefined : false
}
