import { setTimeout as sleep } from 'node:timers/promises'
import type { DeliveryQueue, Redis } from '@internal/redis'
import { toError, type Logger } from '@internal/telemetry'
import { createStaleCheck } from './stale-check.ts'

export interface WorkerOptions {
  queue: DeliveryQueue
  /** A connection of its own for BLMOVE (maxRetriesPerRequest: null). */
  blocking: Redis
  consumerId: string
  /** Settles one entry; calls `release` once the worker slot may serve another entry. */
  handle: (entry: string, release: () => void) => Promise<void>
  /** Deliveries in flight at once (consumer.webhook_threads). */
  threads: number
  /** Entries claimed per round trip (consumer.batch_size). */
  batchSize: number
  /** Longest blocking wait, seconds (consumer.polling_interval). */
  pollSec: number
  /**
   * A lower bound on slots worth using now (all the endpoints' caps together): more slots
   * than that would only claim events for full endpoints and push them back to Redis.
   */
  threadLimit?: () => number
  /** Entries claimed ahead of free slots (0: claim only for a free slot). */
  prefetch?: number
  /** consumer.visibility_timeout, ms. */
  visibilityMs: number
  heartbeatMs?: number
  promoteMs?: number
  reapMs?: number
  now?: () => number
  log: Logger
  onReclaimed?: (count: number) => void
}

export interface Worker {
  readonly inFlight: number
  /** Stops claiming, waits up to `deadlineMs` for in-flight deliveries; true when all finished. */
  close (deadlineMs: number): Promise<boolean>
}

/**
 * The claim loop: claims while a worker slot is free (plus `prefetch` entries ahead),
 * without waiting when the queue has entries and with a blocking BLMOVE when it is empty.
 * Timers beat the heartbeat, promote due retries and reap silent consumers.
 */
export function startWorker (opts: WorkerOptions): Worker {
  const { queue, consumerId, log } = opts
  const now = opts.now ?? Date.now
  const controller = new AbortController()
  const inFlight = new Map<Promise<void>, string>()
  // Claimed, waiting for a slot: at most `prefetch` entries, so a finished delivery picks up
  // the next entry without waiting a claim round trip. They sit in our processing list.
  const ready: string[] = []
  const prefetch = opts.prefetch ?? 0
  const threads = () => Math.max(1, Math.min(opts.threads, opts.threadLimit?.() ?? opts.threads))
  let wake: (() => void) | undefined
  // Slots taken: a delivery frees its slot once the receiver has answered; its settle (one
  // Redis round trip) finishes in the background and is still awaited by close().
  let busy = 0
  const stale = createStaleCheck(queue, consumerId, function * () { yield * inFlight.values(); yield * ready })

  function start (entry: string): void {
    busy++
    let released = false
    const release = () => {
      if (released) return
      released = true
      busy--
      dispatch()
      wake?.()
    }
    const job = opts.handle(entry, release)
      .catch(err => log.error({ err: toError(err) }, 'settling a delivery failed; the entry is returned later'))
      .finally(() => { inFlight.delete(job); release() })
    inFlight.set(job, entry)
  }

  function dispatch (): void {
    while (busy < threads() && ready.length > 0 && !controller.signal.aborted) start(ready.shift()!)
  }

  // While one claim is on its way, more deliveries finish, so claims batch up by themselves
  // under load; a free slot never waits for a chunk to fill.
  const room = () => threads() + prefetch - busy - ready.length
  async function slotFree (): Promise<void> {
    while (!controller.signal.aborted && room() <= 0) {
      await new Promise<void>(resolve => { wake = resolve })
    }
  }

  async function claim (): Promise<string[]> {
    const free = Math.min(opts.batchSize, room())
    const got = await queue.claim(consumerId, free)
    if (got.length > 0 || controller.signal.aborted || ready.length > 0) return got
    const first = await queue.claimBlocking(opts.blocking, consumerId, opts.pollSec)
    if (first === null) return []
    return [first, ...free > 1 ? await queue.claim(consumerId, free - 1) : []]
  }

  async function loop (): Promise<void> {
    const signal = controller.signal
    while (!signal.aborted) {
      await slotFree()
      if (signal.aborted) break
      try {
        const got = await claim()
        ready.push(...got)
        dispatch()
        // Queue empty but entries still waiting for slots: claim again once a slot frees.
        if (got.length === 0 && ready.length > 0) await new Promise<void>(resolve => { wake = resolve })
      } catch (err) {
        if (signal.aborted) break
        // UNBLOCKED (a failover ended BLMOVE) and connection errors: wait a moment, claim again.
        log.warn({ err: toError(err) }, 'claim failed')
        await sleep(200, undefined, { signal }).catch(() => {})
      }
    }
  }

  const timers = startTimers(opts, now, stale, () => controller.signal.aborted)
  // A first beat that fails (Redis away at start) must neither reject unobserved, which ends
  // the process, nor keep the loop from starting: the heartbeat timer registers us later.
  const done = queue.heartbeat(consumerId, now())
    .catch(err => { log.warn({ err: toError(err) }, 'first heartbeat failed') })
    .then(loop)
  let closing: Promise<boolean> | undefined

  return {
    get inFlight () { return inFlight.size },
    close (deadlineMs) {
      closing ??= (async () => {
        controller.abort()
        wake?.()
        opts.blocking.disconnect() // ends a pending BLMOVE now; its entry, if any, is in our processing list
        await done.catch(() => {})
        const finished = await Promise.race([
          Promise.allSettled(inFlight.keys()).then(() => true),
          sleep(deadlineMs, false, { ref: false })
        ])
        timers.stop()
        // All settled: whatever is left in our processing list was never started; hand it back
        // now rather than after the visibility timeout. Otherwise leave it for the reaper.
        if (finished) await queue.release(consumerId).catch(err => log.warn({ err: toError(err) }, 'release failed'))
        return finished
      })()
      return closing
    }
  }
}

function startTimers (opts: WorkerOptions, now: () => number, stale: ReturnType<typeof createStaleCheck>, stopped: () => boolean) {
  const { queue, consumerId, log, visibilityMs } = opts
  const guard = (what: string, work: () => Promise<unknown>) => () => {
    if (stopped()) return
    work().catch(err => log.warn({ err: toError(err) }, `${what} failed`))
  }
  const beat = async () => {
    if (!await queue.heartbeat(consumerId, now())) log.warn({ consumerId }, 'this consumer had been reaped: its in-flight events may be delivered twice')
  }
  const maintain = async () => {
    const reclaimed = await queue.reapDead(now(), visibilityMs) + await stale.check(now(), visibilityMs)
    if (reclaimed > 0) { opts.onReclaimed?.(reclaimed); log.info({ reclaimed }, 'returned in-flight entries of silent consumers to the queue') }
  }
  const handles = [
    setInterval(guard('heartbeat', beat), opts.heartbeatMs ?? Math.min(5000, visibilityMs / 3)),
    setInterval(guard('retry promotion', () => queue.promoteDue(now())), opts.promoteMs ?? 250),
    setInterval(guard('reaper', maintain), opts.reapMs ?? Math.max(1000, visibilityMs / 2))
  ]
  for (const h of handles) h.unref()
  return { stop: () => { for (const h of handles) clearInterval(h) } }
}
