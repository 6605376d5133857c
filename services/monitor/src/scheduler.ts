import type { BucketRegistry, BucketChange, Bucket } from '@internal/buckets'
import type { Config } from '@internal/config'
import { toError } from '@internal/telemetry'
import { runClaimedScan, DEFAULT_DEADLINES, type JobDeps } from './scan-job.ts'
import { fastIntervalMs, runClaimedFastScan } from './fast-lane.ts'
import { ScanCodes } from './errors.ts'
import { applyBucketUpdate, slotPassedMs } from './bucket-updates.ts'
import type { ScanReport } from './scan-status.ts'

type StaggerMethod = Config['parallel']['stagger_method']

export interface SchedulerDeps extends JobDeps {
  registry: BucketRegistry
  maxWorkers: number
  staggerMethod: StaggerMethod
  /** How often the schedule is polled when nothing wakes the loop. */
  tickMs?: number
  onScan?: (bucket: string, report: ScanReport) => void
}

/**
 * Runs the shared schedule: every replica polls the due buckets in Redis, claims what its
 * free scan slots allow (a lease per bucket, so one replica scans a due bucket) and scans
 * them. More replicas, more slots. Buckets come from the BucketRegistry, so a change made
 * through the API on any replica reaches the schedule within a second.
 */
export class Scheduler {
  readonly #deps: SchedulerDeps
  readonly #running = new Map<string, Promise<void>>()
  readonly #stops = new Map<string, AbortController>()
  readonly #startedAt = new Map<string, number>()
  readonly #timingOut = new Set<string>()
  readonly #controller = new AbortController()
  #woken = false
  #endPause: (() => void) | undefined
  #pending = new Set<string>()
  #loop: Promise<void> | undefined
  #closing: Promise<void> | undefined

  constructor (deps: SchedulerDeps) {
    this.#deps = deps
    deps.registry.on('change', (change: BucketChange) => this.#onChange(change))
  }

  get running (): number { return this.#running.size }

  /**
   * Scans still running a request deadline after their own deadline passed: their abort did
   * not end them, so they may hold slots. Zero unless something ignores the abort.
   */
  stuckScans (): number {
    const { scanMs, requestMs } = this.#deps.deadlines ?? DEFAULT_DEADLINES
    const cutoff = performance.now() - scanMs - requestMs
    let stuck = 0
    for (const started of this.#startedAt.values()) if (started < cutoff) stuck++
    return stuck
  }

  /** Buckets whose last scan here ended on an S3 or scan deadline (their store hangs). */
  get timingOut (): number { return this.#timingOut.size }

  /** Puts every known bucket on the schedule, then polls it until close(). */
  start (): void {
    for (const bucket of this.#deps.registry.all()) this.#pending.add(bucket.name)
    this.#loop ??= this.#run()
  }

  /**
   * One round: schedules new buckets, claims due ones for the free slots and starts their
   * scans, then fills the slots left with due fast-lane scans (a full scan due wins the lease).
   */
  async tick (): Promise<string[]> {
    await this.#schedulePending()
    const free = this.#deps.maxWorkers - this.#running.size
    if (free <= 0 || this.#controller.signal.aborted) return []
    const full = await this.#claim(this.#deps.keys.schedule, free)
    for (const [name, due] of full) this.#startScan(name, due)
    const fast = await this.#claim(this.#deps.keys.fastSchedule, free - full.length, b => b.fast_interval !== undefined)
    for (const [name] of fast) this.#startFastScan(name)
    return [...full, ...fast].map(([name]) => name)
  }

  // Claims up to `free` buckets due on `schedule` (leases are shared by both schedules).
  async #claim (schedule: string, free: number, wanted: (b: Bucket) => boolean = () => true): Promise<Array<[string, number]>> {
    if (free <= 0) return []
    const { redis, keys, registry } = this.#deps
    const now = this.#deps.now()
    const due = await redis.zrangebyscore(schedule, '-inf', now, 'LIMIT', 0, free * 2 + 10)
    const stale = due.filter(name => { const b = registry.get(name); return !b || !wanted(b) })
    // Deleted buckets leave the schedule (a bucket this registry has not seen yet is re-added NX when it arrives).
    if (stale.length > 0) await redis.zrem(schedule, ...stale)
    const candidates = due.filter(name => !stale.includes(name) && !this.#running.has(name)).slice(0, free)
    if (candidates.length === 0) return []
    const reply = await this.#deps.scripts.claim([schedule, ...candidates.map(keys.lease)], now, this.#deps.owner, this.#deps.leaseTtlMs, ...candidates)
    const claimed: Array<[string, number]> = []
    for (let i = 0; i < reply.length; i += 2) claimed.push([String(reply[i]), Number(reply[i + 1])])
    return claimed
  }

  /** Polls the schedule now instead of at the next tick (a resync made a bucket due). */
  wake (): void {
    this.#wakeUp()
  }

  /** Resolves when the scans running now have finished (tests). */
  async idle (): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running.values()])
  }

  /** Stops claiming, aborts running scans (their leases are released, the buckets due at once), waits for them. */
  close (): Promise<void> {
    this.#closing ??= (async () => {
      this.#controller.abort(new Error('monitor shutting down'))
      this.#wakeUp()
      await this.#loop
      await this.idle()
    })()
    return this.#closing
  }

  async #run (): Promise<void> {
    const signal = this.#controller.signal
    while (!signal.aborted) {
      try {
        await this.tick()
      } catch (err) {
        this.#deps.log.error({ err: toError(err) }, 'schedule poll failed')
      }
      // Jitter keeps replicas from polling in lock-step, where one of them would win every claim.
      const pause = (this.#deps.tickMs ?? 500) * (0.75 + 0.5 * this.#deps.random())
      await this.#pause(pause)
    }
  }

  // Waits up to `ms`; a wake-up (a free slot, a resync, a new bucket, close) ends the wait,
  // and one that came while the loop was busy skips it.
  async #pause (ms: number): Promise<void> {
    if (!this.#woken) {
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, ms)
        this.#endPause = () => { clearTimeout(timer); resolve() }
      })
    }
    this.#woken = false
    this.#endPause = undefined
  }

  #wakeUp (): void {
    this.#woken = true
    this.#endPause?.()
  }

  #startScan (name: string, due: number): void {
    this.#track(name, (bucket, signal) => runClaimedScan(this.#deps, bucket, due, signal)
      .then(report => { this.#noteTimeout(name, report); this.#deps.onScan?.(name, report) }))
  }

  #startFastScan (name: string): void {
    this.#track(name, async (bucket, signal) => { await runClaimedFastScan(this.#deps, bucket, signal) })
  }

  // Runs a claimed bucket's scan as one of this replica's workers, until it has released the lease.
  #track (name: string, scan: (bucket: Bucket, signal: AbortSignal) => Promise<void>): void {
    const { metrics, log, registry } = this.#deps
    const bucket = registry.get(name)
    if (!bucket) return
    metrics?.leasesHeld.inc()
    const stop = new AbortController() // a removed bucket's scan stops at once
    this.#stops.set(name, stop)
    this.#startedAt.set(name, performance.now())
    const job = scan(bucket, AbortSignal.any([this.#controller.signal, stop.signal]))
      .catch(err => log.error({ err: toError(err), bucket: name }, 'scan bookkeeping failed'))
      .finally(() => {
        metrics?.leasesHeld.dec()
        this.#running.delete(name)
        this.#stops.delete(name)
        this.#startedAt.delete(name)
        this.#wakeUp() // a slot is free
      })
    this.#running.set(name, job)
  }

  #noteTimeout (name: string, report: ScanReport): void {
    const deadline = report.errorCode === ScanCodes.S3_REQUEST_TIMEOUT || report.errorCode === ScanCodes.SCAN_TIMEOUT
    if (deadline) this.#timingOut.add(name)
    else if (report.outcome !== 'aborted') this.#timingOut.delete(name)
  }

  // A new bucket enters the schedule due at once, on the latest stagger slot that has passed:
  // it is scanned within a tick of being added, and its later scans fall on its stagger slot.
  // An existing entry is kept (NX), so every replica agrees on it and a restart does not
  // make every bucket due together.
  async #schedulePending (): Promise<void> {
    if (this.#pending.size === 0) return
    const names = [...this.#pending]
    this.#pending.clear()
    const now = this.#deps.now()
    const multi = this.#deps.redis.multi()
    for (const name of names) {
      const bucket = this.#deps.registry.get(name)
      if (!bucket) continue
      multi.zadd(this.#deps.keys.schedule, 'NX', slotPassedMs(this.#deps, bucket), name)
      const fast = fastIntervalMs(bucket)
      if (fast !== undefined) multi.zadd(this.#deps.keys.fastSchedule, 'NX', now + fast, name)
    }
    await multi.exec()
  }

  #onChange ({ name, before, after }: BucketChange): void {
    const { clients } = this.#deps
    if (!after) {
      this.#timingOut.delete(name)
      this.#stops.get(name)?.abort(new Error('bucket removed'))
      clients.drop(name)
      this.#deps.budgets?.forget(name)
      this.#deps.metrics?.bucketRemoved(name).catch(err => this.#deps.log.warn({ err, bucket: name }, 'dropping the bucket\'s metric series failed'))
      return
    }
    if (!before) {
      this.#pending.add(name)
      return this.#wakeUp()
    }
    applyBucketUpdate(this.#deps, before, after, () => this.#wakeUp())
  }
}
