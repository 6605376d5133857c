import { setTimeout as sleep } from 'node:timers/promises'
import type { DeliveryQueue, Redis } from '@internal/redis'
import { toError, type Logger } from '@internal/telemetry'
import { createStaleCheck } from './stale-check.ts'

/** Claims on their way at once, at most. */
const MAX_CLAIMERS = 4

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
 * The claim loops: claim while a worker slot is free (plus `prefetch` entries ahead), several
 * claims on their way at once, without waiting when the queue has entries and with one
 * blocking BLMOVE when it is empty.
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
  // Waiting for a free slot or for entries: woken together when either comes.
  let waiters: Array<() => void> = []
  const wakeAll = () => { const w = waiters; waiters = []; for (const resolve of w) resolve() }
  const nextWake = () => controller.signal.aborted ? Promise.resolve() : new Promise<void>(resolve => { waiters.push(resolve) })
  // Slots taken: a delivery frees its slot once the receiver has answered; its settle (one
  // Redis round trip) finishes in the background and is still awaited by close().
  let busy = 0
  // Entries asked for by claims on their way, and whether one of them waits in BLMOVE.
  let claiming = 0
  let blocked = false
  const stale = createStaleCheck(queue, consumerId, function * () { yield * inFlight.values(); yield * ready })

  function start (entry: string): void {
    busy++
    let released = false
    const release = () => {
      if (released) return
      released = true
      busy--
      dispatch()
      wakeAll()
    }
    const job = opts.handle(entry, release)
      .catch(err => log.error({ err: toError(err) }, 'settling a delivery failed; the entry is returned later'))
      .finally(() => { inFlight.delete(job); release() })
    inFlight.set(job, entry)
  }

  function dispatch (): void {
    while (busy < threads() && ready.length > 0 && !controller.signal.aborted) start(ready.shift()!)
  }

  // Several claims travel at once (each of at most batchSize entries), so deliveries never
  // wait for one claim's round trip while the event loop is busy; together they never ask for
  // more than the free slots plus `prefetch`.
  const room = () => threads() + prefetch - busy - ready.length - claiming
  async function slotFree (): Promise<void> {
    while (!controller.signal.aborted && room() <= 0) await nextWake()
  }

  // Claims hand their entries over in the order they were sent, so entries are dispatched in
  // queue order (a subscription's parked events go out oldest first) however the answers
  // arrive; a claim that failed hands over nothing.
  let sent = 0
  let handedOver = 0
  const handovers = new Map<number, string[]>()
  function handOver (ticket: number, got: string[]): void {
    handovers.set(ticket, got)
    for (let next = handovers.get(handedOver); next !== undefined; next = handovers.get(handedOver)) {
      handovers.delete(handedOver++)
      ready.push(...next)
    }
    dispatch()
    wakeAll()
  }

  async function claim (): Promise<number> {
    const free = Math.min(opts.batchSize, room())
    if (free <= 0) return 0 // another claimer took the room since this one was woken
    const got = await take(free, () => queue.claim(consumerId, free))
    if (got > 0 || controller.signal.aborted || ready.length > 0 || blocked) return got
    return await take(1, claimBlocking)
  }

  // A ticket per claim, taken as it is sent: a BLMOVE takes its own once the queue was found
  // empty, so entries claimed by others meanwhile are never held behind its wait.
  async function take (count: number, fetch: () => Promise<string[]>): Promise<number> {
    const ticket = sent++
    claiming += count
    let got: string[] = []
    try {
      got = await fetch()
      return got.length
    } finally {
      claiming -= count
      handOver(ticket, got)
    }
  }

  // The queue is empty: one claimer waits in BLMOVE (its own connection), the others for it.
  // It takes the first entry only: the next claims, sent at once, take the rest in order.
  async function claimBlocking (): Promise<string[]> {
    blocked = true
    try {
      const first = await queue.claimBlocking(opts.blocking, consumerId, opts.pollSec)
      return first === null ? [] : [first]
    } finally {
      blocked = false
    }
  }

  async function claimer (): Promise<void> {
    const signal = controller.signal
    while (!signal.aborted) {
      await slotFree()
      if (signal.aborted) break
      // While a BLMOVE waits, no other claim is sent: one sent before Redis has taken the
      // BLMOVE in could take the entries it waits for, and they would be handed over only
      // after the BLMOVE's ticket, up to polling_interval later.
      if (blocked) {
        await nextWake()
        continue
      }
      try {
        const got = await claim()
        // Nothing claimed but entries waiting, or another claimer in BLMOVE: wait for a change.
        if (got === 0 && (ready.length > 0 || blocked)) await nextWake()
      } catch (err) {
        if (signal.aborted) break
        // UNBLOCKED (a failover ended BLMOVE) and connection errors: wait a moment, claim again.
        log.warn({ err: toError(err) }, 'claim failed')
        await sleep(200, undefined, { signal }).catch(() => {})
      }
    }
  }

  const claimers = Math.max(1, Math.min(MAX_CLAIMERS, Math.ceil((opts.threads + prefetch) / opts.batchSize)))
  const loop = () => Promise.all(Array.from({ length: claimers }, claimer)).then(() => {})

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
        wakeAll()
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
