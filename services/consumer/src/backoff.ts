export interface RetryPolicy {
  /** Retries after the first attempt (webhook.max_retries). */
  maxRetries: number
  /** Growth per attempt (webhook.backoff_factor). */
  factor: number
  /** First retry's upper bound, ms. */
  baseMs: number
  /** Upper bound of one wait, ms (webhook.max_backoff). */
  maxBackoffMs: number
  /** Upper bound honoured for Retry-After, ms (webhook.max_retry_after). */
  maxRetryAfterMs: number
}

/**
 * Exponential backoff with full jitter: a uniform wait in [0, min(max, base * factor^(n-1)))
 * after attempt n, which spreads the retries of many events failing together.
 */
export function retryDelayMs (attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.baseMs * policy.factor ** Math.max(0, attempt - 1))
  return Math.floor(random() * ceiling)
}

export type RetryPlan = { retry: true, delayMs: number } | { retry: false }

/** After attempt `attempt` failed retryably: wait how long, or give up. */
export function planRetry (attempt: number, retryAfterMs: number | undefined, policy: RetryPolicy, random: () => number): RetryPlan {
  if (attempt > policy.maxRetries) return { retry: false }
  const delayMs = retryAfterMs === undefined
    ? retryDelayMs(attempt, policy, random)
    : Math.min(retryAfterMs, policy.maxRetryAfterMs)
  return { retry: true, delayMs }
}
