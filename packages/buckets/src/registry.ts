import { EventEmitter } from 'node:events'
import type { Redis } from 'ioredis'
import type { Keys } from '@internal/redis'
import type { Bucket } from './schema.ts'
import type { BucketStore } from './bucket-store.ts'

/** How often the version is compared when nothing else is said: a missed message costs at most this long. */
export const DEFAULT_CONFIG_CHECK_INTERVAL_MS = 1000
/** Pause before subscribing again after SUBSCRIBE was refused. */
const RESUBSCRIBE_DELAY_MS = 1000

export interface BucketRegistryOptions {
  store: BucketStore
  keys: Keys
  /** A second connection for SUBSCRIBE, from createSubscriber (no ready check, no auto-resubscribe). */
  subscriber: Redis
  /**
   * How often the version is compared, in case a pub/sub message was missed. It bounds how
   * stale this replica's view can be while its subscription is down.
   */
  checkIntervalMs?: number
  onError?: (err: unknown) => void
  /** Told when the subscription goes up or down (a refused SUBSCRIBE goes to onError). */
  onSubscription?: (up: boolean) => void
}

export interface BucketChange {
  name: string
  before: Bucket | undefined
  after: Bucket | undefined
}

/**
 * Every replica's live view of the bucket configurations. A change published by any replica
 * arrives through pub/sub at once; a periodic version check catches a missed message.
 * Emits `change` with { name, before, after } for each bucket that changed.
 */
export class BucketRegistry extends EventEmitter {
  readonly #opts: BucketRegistryOptions & { checkIntervalMs: number }
  #buckets = new Map<string, Bucket>()
  #version = -1
  #timer: NodeJS.Timeout | undefined
  #retry: NodeJS.Timeout | undefined
  #closed = false
  #subscribed = false
  #reloading: Promise<void> | undefined

  constructor (opts: BucketRegistryOptions) {
    super()
    this.#opts = { ...opts, checkIntervalMs: opts.checkIntervalMs ?? DEFAULT_CONFIG_CHECK_INTERVAL_MS }
  }

  get size (): number { return this.#buckets.size }
  get version (): number { return this.#version }
  /** Whether change messages reach this replica now (false: only the periodic check does). */
  get subscribed (): boolean { return this.#subscribed }
  get (name: string): Bucket | undefined { return this.#buckets.get(name) }
  all (): Bucket[] { return [...this.#buckets.values()] }

  async start (): Promise<void> {
    const { subscriber, checkIntervalMs } = this.#opts
    subscriber.on('message', (_channel: string, name: string) => { this.#refresh(name).catch(err => this.#opts.onError?.(err)) })
    subscriber.on('close', () => this.#setSubscribed(false))
    await this.#subscribe()
    // Messages published while the connection was down are lost: each new connection subscribes
    // again and then reads everything.
    subscriber.on('ready', () => { void this.#subscribe() })
    await this.reload()
    this.#timer = setInterval(() => { this.#checkVersion().catch(err => this.#opts.onError?.(err)) }, checkIntervalMs)
    this.#timer.unref()
  }

  /** Reads every bucket again; concurrent callers share one reload. */
  reload (): Promise<void> {
    this.#reloading ??= this.#reloadAll().finally(() => { this.#reloading = undefined })
    return this.#reloading
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#timer)
    clearTimeout(this.#retry)
    await this.#opts.subscriber.unsubscribe().catch(() => {})
  }

  async #subscribe (): Promise<void> {
    clearTimeout(this.#retry)
    if (this.#closed) return
    try {
      await this.#opts.subscriber.subscribe(this.#opts.keys.configChannel)
    } catch (err) {
      this.#opts.onError?.(new Error(`config subscription failed, retrying: ${(err as Error).message}`))
      this.#retry = setTimeout(() => { void this.#subscribe() }, RESUBSCRIBE_DELAY_MS).unref()
      return
    }
    this.#setSubscribed(true)
    if (this.#version !== -1) await this.reload().catch(err => this.#opts.onError?.(err))
  }

  #setSubscribed (up: boolean): void {
    if (this.#subscribed === up || (up && this.#closed)) return
    this.#subscribed = up
    if (!this.#closed) this.#opts.onSubscription?.(up)
  }

  async #reloadAll (): Promise<void> {
    const { store } = this.#opts
    const version = await store.version()
    const fresh = new Map((await store.list()).map(b => [b.name, b]))
    const names = new Set([...this.#buckets.keys(), ...fresh.keys()])
    const before = this.#buckets
    this.#buckets = fresh
    this.#version = version
    for (const name of names) this.#announce(name, before.get(name), fresh.get(name))
  }

  async #refresh (name: string): Promise<void> {
    const after = await this.#opts.store.get(name)
    const before = this.#buckets.get(name)
    if (after) this.#buckets.set(name, after)
    else this.#buckets.delete(name)
    this.#announce(name, before, after)
    // Only a version one past ours proves no other change was missed (a message lost during a
    // reconnect); otherwise the periodic check finds the difference and reloads everything.
    const latest = await this.#opts.store.version()
    if (latest === this.#version + 1) this.#version = latest
  }

  async #checkVersion (): Promise<void> {
    if (this.#closed) return
    if (await this.#opts.store.version() !== this.#version) await this.reload()
  }

  #announce (name: string, before: Bucket | undefined, after: Bucket | undefined): void {
    if (JSON.stringify(before) === JSON.stringify(after)) return
    this.emit('change', { name, before, after } satisfies BucketChange)
  }
}
