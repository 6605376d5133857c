import { findDeliveryError } from './errors.ts'

/**
 * What one attempt produced: an HTTP answer, or an error before any answer. `done` settles
 * once the answer's connection is free (a 2xx body drained in the background).
 */
export type AttemptResult =
  | { status: number, retryAfter?: string | null, excerpt?: string, done?: Promise<void> }
  | { error: Error }

/** 408, 429 and 5xx: the receiver may take the event later. */
export function isRetryableStatus (status: number): boolean {
  return status === 408 || status === 429 || status >= 500
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
  if ('status' in result) return !isRetryableStatus(result.status)
  return findDeliveryError(result.error) ? undefined : false
}
