import { EXCERPT_MAX_BYTES, type ActivityEvent, type HistoryAttempt, type Recorder } from '@internal/redis'
import type { AttemptRecord, DeliveryObserver, DeliveryReport } from './observer.ts'

// What looks like a credential in a receiver's answer: the value after a secret-ish name
// (`"token": "..."`, `password=...`, `Authorization: Bearer ...`), and bare bearer tokens.
const SECRET_VALUE = /((?:access[_-]?token|refresh[_-]?token|id[_-]?token|token|secret|client[_-]?secret|password|passwd|api[_-]?key|apikey|authorization|cookie|set-cookie|signature)["']?\s*[:=]\s*["']?)(?:bearer\s+|basic\s+)?[^\s"'&,;}]+/gi
const BEARER = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi

/** A response excerpt as the history keeps it: at most 1 KiB, credentials replaced. */
export function scrubExcerpt (excerpt: string): string {
  let text = excerpt
  if (Buffer.byteLength(text) > EXCERPT_MAX_BYTES) text = Buffer.from(text).subarray(0, EXCERPT_MAX_BYTES).toString('utf8').replace(/\uFFFD$/, '')
  return text.replace(SECRET_VALUE, '$1[REDACTED]').replace(BEARER, '$1 [REDACTED]')
}

function historyAttempt (a: AttemptRecord): HistoryAttempt {
  return { at: a.at, status: a.status, duration_ms: Math.round(a.duration_ms), error: a.error, excerpt: a.excerpt === null ? null : scrubExcerpt(a.excerpt) }
}

function activityOf (r: DeliveryReport, nowMs: number): ActivityEvent {
  const e = r.event
  const line: ActivityEvent = { kind: r.attempt ? 'attempt' : 'state', at: new Date(nowMs).toISOString(), bucket: e.bucket, key: e.key, event_id: e.event_id, type: r.state, subscription: r.subscription }
  if (r.attempt) Object.assign(line, { status: r.attempt.status, duration_ms: Math.round(r.attempt.duration_ms), error: r.attempt.error })
  if (typeof e.detection_time === 'number') line.latency_ms = Math.max(0, Math.round(nowMs - e.detection_time * 1000))
  return line
}

/**
 * The observer the consumer runs with: each report becomes a history step and an activity
 * line, handed to the recorder, which writes them in the background.
 */
export function createHistoryObserver (recorder: Recorder, now: () => number): DeliveryObserver {
  return {
    report (r) {
      const step = {
        event: r.event,
        subscription: r.subscription,
        state: r.state,
        ...(r.attempt && { attempt: historyAttempt(r.attempt) }),
        ...(r.next_at !== undefined && { next_at: r.next_at }),
        ...(r.reason !== undefined && { reason: r.reason })
      }
      recorder.add(step, activityOf(r, now()))
    }
  }
}
