/**
 * A counting semaphore: at most `limit` holders at once, waiters served in order. Used for the
 * per-process scan slots and the per-region S3 operation slots.
 */
export class Limiter {
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

/** One Limiter per key (a region's endpoint host), created on first use. */
export class LimiterMap {
  readonly #limit: number
  readonly #limiters = new Map<string, Limiter>()

  constructor (limit: number) {
    this.#limit = limit
  }

  get (key: string): Limiter {
    let limiter = this.#limiters.get(key)
    if (!limiter) {
      limiter = new Limiter(this.#limit)
      this.#limiters.set(key, limiter)
    }
    return limiter
  }
}
