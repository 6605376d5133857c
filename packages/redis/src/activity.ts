import type { Redis } from 'ioredis'
import type { Keys } from './keys.ts'
import type { History, HistoryStep } from './history.ts'

/** One line of the live activity stream: a detection, a delivery attempt or a state change. */
export interface ActivityEvent {
  kind: 'detection' | 'attempt' | 'state'
  /** ISO 8601 time of the step. */
  at: string
  bucket: string
  key: string
  event_id: string
  /** The event type for a detection; the delivery state for an attempt or a state change. */
  type: string
  subscription?: string
  status?: number | null
  /** The attempt's own duration. */
  duration_ms?: number
  /** From the event's detection to the end of this step. */
  latency_ms?: number
  error?: string | null
}

export interface RecorderOptions {
  redis: Redis
  keys: Keys
  history: History
  now: () => number
  /** Called at most once per `errorEveryMs` with what failed or was dropped since the last call. */
  onError: (err: Error, counts: { failed: number, dropped: number }) => void
  /** Steps waiting to be written at most; beyond it new ones are dropped (Redis slow or down). */
  maxPending?: number
  errorEveryMs?: number
  /** How long steps gather before they are written together, ms. */
  flushEveryMs?: number
}

export interface Recorder {
  /** Queues a history step and its activity line; never throws, never waits. */
  add (step: HistoryStep | undefined, activity: ActivityEvent): void
  /** Writes what is queued; resolves when Redis answered (tests, shutdown). */
  flush (): Promise<void>
}

/**
 * Writes history steps and publishes activity in the background: what arrives within
 * `flushEveryMs` goes out together (the script calls pipelined, one PUBLISH of them all), so
 * a delivery never waits for either, and a failure is only counted and reported. A step
 * without an attempt (in flight) that a later step of the same delivery follows within the
 * window is not written: the later one says where the delivery stands.
 */
export function createRecorder (opts: RecorderOptions): Recorder {
  const maxPending = opts.maxPending ?? 10_000
  const errorEveryMs = opts.errorEveryMs ?? 10_000
  const flushEveryMs = opts.flushEveryMs ?? 50
  let steps: Array<HistoryStep | undefined> = []
  let open = new Map<string, number>() // delivery -> index in steps of its step without an attempt
  let lines: ActivityEvent[] = []
  let scheduled = false
  let pending = 0 // queued or written but not yet answered
  let failed = 0
  let dropped = 0
  let lastError: Error | undefined
  let reportedAt = -Infinity
  const inFlight = new Set<Promise<void>>()

  let lateReport: NodeJS.Timeout | undefined

  function emit (): void {
    reportedAt = opts.now()
    opts.onError(lastError!, { failed, dropped })
    failed = 0
    dropped = 0
  }

  // The first failure is reported at once; later ones are counted and reported together, at
  // the latest one interval on, so the last of a burst is not lost.
  function report (err: Error): void {
    lastError = err
    if (opts.now() - reportedAt >= errorEveryMs) return emit()
    lateReport ??= setTimeout(() => {
      lateReport = undefined
      if (failed + dropped > 0) emit()
    }, errorEveryMs).unref()
  }

  function write (): Promise<void> {
    scheduled = false
    const batch = steps
    const published = lines
    steps = []
    lines = []
    open = new Map()
    const nowMs = opts.now()
    const writes: Array<Promise<unknown>> = []
    const recorded = batch.filter(s => s !== undefined)
    // One script call per few hundred steps: one call holds Redis for well under a millisecond.
    for (let i = 0; i < recorded.length; i += 200) writes.push(opts.history.record(recorded.slice(i, i + 200), nowMs))
    if (published.length > 0) writes.push(opts.redis.publish(opts.keys.activityChannel, JSON.stringify(published)))
    const done = Promise.allSettled(writes).then(results => {
      pending -= published.length
      for (const r of results) if (r.status === 'rejected') { failed++; report(r.reason as Error) }
    })
    inFlight.add(done)
    return done.finally(() => inFlight.delete(done))
  }

  function queue (step: HistoryStep): void {
    if (step.subscription === undefined) {
      steps.push(step)
      return
    }
    const delivery = `${step.event.event_id}\n${step.subscription}`
    const superseded = open.get(delivery)
    if (superseded !== undefined) steps[superseded] = undefined
    if (step.attempt) open.delete(delivery)
    else open.set(delivery, steps.length)
    steps.push(step)
  }

  return {
    add (step, activity) {
      if (pending >= maxPending) {
        dropped++
        report(new Error('history writes pending beyond the bound; steps dropped'))
        return
      }
      if (step) queue(step)
      lines.push(activity)
      pending++
      if (!scheduled) {
        scheduled = true
        setTimeout(() => { void write() }, flushEveryMs).unref()
      }
    },
    async flush () {
      if (scheduled) await write()
      await Promise.allSettled([...inFlight])
    }
  }
}
