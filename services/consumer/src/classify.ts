/**
 * What one attempt produced: an HTTP answer, or an error before any answer. `done` settles
 * once the answer's connection is free (a 2xx body drained in the background).
 */
export type AttemptResult =
  | { status: number, retryAfter?: string | null, excerpt?: string, done?: Promise<void> }
  | { error: Error }

export type Verdict =
  | { kind: 'delivered' }
  | { kind: 'retry', retryAfterMs?: number }
  | { kind: 'dead', gone: boolean }

/**
 * The outcome rules in one place. 2xx delivered; a network error, a timeout, 408, 429 and
 * 5xx are worth another attempt (honouring Retry-After); any other status means the
 * receiver refused this event, so retrying will not help (410 also says the endpoint is gone).
 */
export function classify (result: AttemptResult, nowMs: number): Verdict {
  if ('error' in result) return { kind: 'retry' }
  const { status } = result
  if (status >= 200 && status < 300) return { kind: 'delivered' }
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(result.retryAfter, nowMs)
    return retryAfterMs === undefined ? { kind: 'retry' } : { kind: 'retry', retryAfterMs }
  }
  return { kind: 'dead', gone: status === 410 }
}

/** Retry-After as delay-seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
export function parseRetryAfter (value: string | null | undefined, nowMs: number): number | undefined {
  if (!value) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

/** Whether the result says the endpoint itself is failing (what the circuit breaker counts). */
export function isEndpointFailure (verdict: Verdict): boolean {
  return verdict.kind === 'retry'
}
