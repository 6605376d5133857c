import { DEFAULT_RETRY_SCHEDULE, type Config } from '@internal/config'

/**
 * When the attempts after a failed one happen: a list of waits (webhook.retry_schedule, a
 * subscription's retry_schedule, or the default), or the exponential backoff of
 * webhook.max_retries and backoff_factor kept for configs that set them.
 */
export type RetrySchedule =
  | { kind: 'fixed', delaysMs: readonly number[] }
  | { kind: 'exponential', maxRetries: number, factor: number, baseMs: number, maxBackoffMs: number }

/** A wait of the list is spread by this share either way, so events failing together do not return together. */
export const JITTER = 0.2

/** The wait after failed attempt `attempt` (1-based), or undefined when the schedule is spent. */
export function retryDelayMs (schedule: RetrySchedule, attempt: number, random: number): number | undefined {
  if (schedule.kind === 'fixed') {
    const base = schedule.delaysMs[attempt - 1]
    return base === undefined ? undefined : Math.round(base * (1 - JITTER + 2 * JITTER * random))
  }
  if (attempt > schedule.maxRetries) return undefined
  // Full jitter: a uniform wait in [0, min(max, base * factor^(n-1))).
  const ceiling = Math.min(schedule.maxBackoffMs, schedule.baseMs * schedule.factor ** Math.max(0, attempt - 1))
  return Math.floor(random * ceiling)
}

/** A list of waits in seconds as a schedule. */
export function fixedSchedule (delaysSec: readonly number[]): RetrySchedule {
  return { kind: 'fixed', delaysMs: delaysSec.map(s => Math.round(s * 1000)) }
}

/**
 * The webhook section's schedule: retry_schedule when set; else, when max_retries or
 * backoff_factor is set, their exponential backoff (3 retries, factor 2 for the one unset,
 * the Python consumer's); else the default schedule.
 */
export function configuredSchedule (webhook: Config['webhook'], baseMs: number): RetrySchedule {
  if (webhook.retry_schedule !== undefined) return fixedSchedule(webhook.retry_schedule)
  if (webhook.max_retries === undefined && webhook.backoff_factor === undefined) return fixedSchedule(DEFAULT_RETRY_SCHEDULE)
  return { kind: 'exponential', maxRetries: webhook.max_retries ?? 3, factor: webhook.backoff_factor ?? 2, baseMs, maxBackoffMs: webhook.max_backoff * 1000 }
}
