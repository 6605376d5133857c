import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'

export interface WipeWatchOptions {
  redis: Redis
  /** The marker key (keys.instanceMarker). */
  key: string
  /** How often the marker is read between reconnects (a FLUSHALL does not drop connections). */
  intervalMs: number
  /** Told once per wipe seen, after the marker has been written again. */
  onWiped: () => void
  /** Puts back what the service can (re-seeds); retried on every check until it succeeds. */
  recover?: () => Promise<void>
  onError?: (err: unknown) => void
  now?: () => number
}

/**
 * Notices a Redis that lost its data (restarted without persistence, FLUSHALL, a replica promoted
 * empty). The first service to start writes a random id under the marker key; every replica
 * remembers the id it saw and reads it again on each reconnect and every `intervalMs`. The key
 * gone, or holding another id (a replica that noticed first wrote a new one), means a wipe.
 */
export class RedisWipeWatch {
  readonly #opts: WipeWatchOptions
  #known: string | undefined
  #wipedAt: number | undefined
  #timer: NodeJS.Timeout | undefined
  #checking: Promise<boolean> | undefined
  #closed = false
  #recovering = false
  readonly #onReady = () => { this.check().catch(err => this.#opts.onError?.(err)) }

  constructor (opts: WipeWatchOptions) {
    this.#opts = opts
  }

  /** `wiped` once a wipe was seen by this process (epoch ms in `wipedAt`). */
  get state (): 'ok' | 'wiped' { return this.#wipedAt === undefined ? 'ok' : 'wiped' }
  get wipedAt (): number | undefined { return this.#wipedAt }
  /** The `/ready` fields: `redis_state`, and `redis_wiped_at` once a wipe was seen. */
  readinessDetail (): { redis_state: 'ok' | 'wiped', redis_wiped_at?: string } {
    return { redis_state: this.state, ...(this.#wipedAt !== undefined && { redis_wiped_at: new Date(this.#wipedAt).toISOString() }) }
  }

  async start (): Promise<void> {
    this.#known = await this.#claim()
    this.#opts.redis.on('ready', this.#onReady)
    this.#timer = setInterval(this.#onReady, this.#opts.intervalMs)
    this.#timer.unref()
  }

  /** Reads the marker; true when it shows a wipe (concurrent callers share one read). */
  check (): Promise<boolean> {
    this.#checking ??= this.#check().finally(() => { this.#checking = undefined })
    return this.#checking
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#timer)
    this.#opts.redis.off('ready', this.#onReady)
  }

  async #check (): Promise<boolean> {
    if (this.#closed) return false
    const wiped = await this.#opts.redis.get(this.#opts.key) !== this.#known
    if (wiped) {
      this.#wipedAt = (this.#opts.now ?? Date.now)()
      this.#known = await this.#claim()
      this.#recovering = true
      this.#opts.onWiped()
    }
    if (this.#recovering) {
      await this.#opts.recover?.()
      this.#recovering = false
    }
    return wiped
  }

  // The first writer's id wins, so replicas that notice together agree on the new one.
  async #claim (): Promise<string | undefined> {
    await this.#opts.redis.set(this.#opts.key, randomUUID(), 'NX')
    return await this.#opts.redis.get(this.#opts.key) ?? undefined
  }
}
