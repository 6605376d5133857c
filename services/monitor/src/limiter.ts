/** Something that runs work in one of a bounded number of slots. */
export interface Slots {
  /** How many works may run at once (a scan splits its listing into ranges to use them). */
  readonly limit: number
  run<T> (work: () => Promise<T>): Promise<T>
}

/**
 * A counting semaphore: at most `limit` holders at once, waiters served in order. Used for
 * the per-process scan slots.
 */
export class Limiter implements Slots {
  readonly limit: number
  #active = 0
  #waiting: Array<() => void> = []

  constructor (limit: number) {
    this.limit = limit
  }

  get active (): number { return this.#active }
  get free (): number { return Math.max(0, this.limit - this.#active) }

  async run<T> (work: () => Promise<T>): Promise<T> {
    await this.acquire()
    try {
      return await work()
    } finally {
      this.release()
    }
  }

  acquire (): Promise<void> {
    if (this.#active < this.limit) {
      this.#active++
      return Promise.resolve()
    }
    return new Promise(resolve => this.#waiting.push(() => { this.#active++; resolve() }))
  }

  release (): void {
    this.#active--
    this.#waiting.shift()?.()
  }
}

export interface RegionOptions {
  /** Slots one bucket may hold (its share). */
  perBucket?: number
  /** A request running this long is counted as slow ... */
  slowAfterMs?: number
  /** ... and up to this many slow ones stop counting against `limit`. */
  slowLimit?: number
}

/**
 * A region's S3 request slots, shared fairly between buckets: one bucket holds at most
 * `perBucket` of them, and a freed slot goes to the waiting bucket that holds the fewest
 * (oldest waiter first among equals). So a bucket with a thousand HeadObjects never takes
 * the slots the region's other buckets need. A request that has run `slowAfterMs` (its store
 * hangs, most likely) gives its slot back to the others while it waits for its deadline, up
 * to `slowLimit` such requests: a region's hung buckets cannot hold every slot until their
 * deadlines pass, and in-flight requests stay bounded (limit + slowLimit).
 */
export class RegionSlots {
  readonly limit: number
  readonly perBucket: number
  readonly slowLimit: number
  readonly #slowAfterMs: number
  #active = 0
  #slow = 0
  readonly #held = new Map<string, number>()
  readonly #waiting = new Map<string, Array<() => void>>()

  constructor (limit: number, { perBucket = limit, slowAfterMs = Infinity, slowLimit = Math.ceil(limit / 2) }: RegionOptions = {}) {
    this.limit = limit
    this.perBucket = Math.max(1, Math.min(limit, perBucket))
    this.slowLimit = slowLimit
    this.#slowAfterMs = slowAfterMs
  }

  /** Slots counted against the limit now. */
  get active (): number { return this.#active }
  /** Slow requests that no longer count against the limit. */
  get slow (): number { return this.#slow }

  /** Slots this bucket holds now (its slow requests included). */
  held (bucket: string): number { return this.#held.get(bucket) ?? 0 }

  /** The slots as one bucket uses them. */
  forBucket (bucket: string): Slots {
    return { limit: this.perBucket, run: work => this.#run(bucket, work) }
  }

  async #run<T> (bucket: string, work: () => Promise<T>): Promise<T> {
    await this.#acquire(bucket)
    let slow = false
    const timer = Number.isFinite(this.#slowAfterMs)
      ? setTimeout(() => { slow = this.#markSlow() }, this.#slowAfterMs)
      : undefined
    timer?.unref()
    try {
      return await work()
    } finally {
      clearTimeout(timer)
      if (slow) this.#slow--
      else this.#active--
      this.#release(bucket)
    }
  }

  #markSlow (): boolean {
    if (this.#slow >= this.slowLimit) return false
    this.#slow++
    this.#active--
    this.#dispatch()
    return true
  }

  #acquire (bucket: string): Promise<void> {
    if (this.#active < this.limit && this.held(bucket) < this.perBucket) {
      this.#take(bucket)
      return Promise.resolve()
    }
    return new Promise(resolve => {
      const queue = this.#waiting.get(bucket) ?? []
      queue.push(resolve)
      this.#waiting.set(bucket, queue)
    })
  }

  #take (bucket: string): void {
    this.#active++
    this.#held.set(bucket, this.held(bucket) + 1)
  }

  #release (bucket: string): void {
    const left = this.held(bucket) - 1
    if (left > 0) this.#held.set(bucket, left)
    else this.#held.delete(bucket)
    this.#dispatch()
  }

  #dispatch (): void {
    while (this.#active < this.limit) {
      const next = this.#neediest()
      if (next === undefined) return
      const queue = this.#waiting.get(next)!
      const grant = queue.shift()!
      if (queue.length === 0) this.#waiting.delete(next)
      this.#take(next)
      grant()
    }
  }

  // Waiting buckets are at most the scans running at once (tens), so a linear pick is cheap.
  #neediest (): string | undefined {
    let best: string | undefined
    for (const bucket of this.#waiting.keys()) {
      const held = this.held(bucket)
      if (held < this.perBucket && (best === undefined || held < this.held(best))) best = bucket
    }
    return best
  }
}

/** One RegionSlots per key (a region's endpoint host), created on first use. */
export class LimiterMap {
  readonly #limit: number
  readonly #options: RegionOptions
  readonly #regions = new Map<string, RegionSlots>()

  constructor (limit: number, options: RegionOptions = {}) {
    this.#limit = limit
    this.#options = options
  }

  get (key: string): RegionSlots {
    let region = this.#regions.get(key)
    if (!region) {
      region = new RegionSlots(this.#limit, this.#options)
      this.#regions.set(key, region)
    }
    return region
  }
}
