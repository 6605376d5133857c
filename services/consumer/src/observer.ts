/**
 * What the delivery pipeline reports as it goes, for the attempt history and the live
 * activity stream. The handler calls these after Redis holds the settlement they describe;
 * an observer must not throw and must not hold the pipeline (it buffers or fires and forgets).
 */

/** Where one event stands for one subscription. */
export type DeliveryState = 'delivered' | 'scheduled' | 'in_flight' | 'parked' | 'dead'

/** One attempt of one event for one subscription, as the history keeps it. */
export interface AttemptRecord {
  /** Epoch ms at which the request started. */
  at: number
  /** The receiver's HTTP status; null when no answer came (see `error`). */
  status: number | null
  duration_ms: number
  /** Why the attempt failed before or without an answer (a code and a message, no secret). */
  error: string | null
  /** The start of the receiver's answer (at most 1 KiB, secrets scrubbed), when one came. */
  excerpt: string | null
}

export interface DeliveryReport {
  /** The event's fields as queued (without the consumer's own delivery fields). */
  event: Record<string, unknown> & { event_id: string, bucket: string, key: string, event_type: string }
  subscription: string
  /** The state after this step. */
  state: DeliveryState
  /** The attempt that led here; absent for a state change without one (parked, released, claimed). */
  attempt?: AttemptRecord
  /** Epoch ms of the next attempt, when `state` is `scheduled`. */
  next_at?: number
  /** Why it is parked or dead, in words. */
  reason?: string
}

export interface DeliveryObserver {
  report (report: DeliveryReport): void
}

/** Observes nothing: the default when history and activity are off. */
export const noObserver: DeliveryObserver = { report () {} }

/** Reports to both: the history's observer and one a caller adds (a test's, say). */
export function bothObservers (extra: DeliveryObserver | undefined, history: DeliveryObserver): DeliveryObserver {
  if (!extra) return history
  return { report (r) { history.report(r); extra.report(r) } }
}
