import { AsyncLocalStorage } from 'node:async_hooks'
import { randomBytes } from 'node:crypto'
import type { S3Client } from '@aws-sdk/client-s3'
import { defineScript, type Keys, type Redis } from '@internal/redis'

const lua = (name: string) => new URL(`../lua/${name}.lua`, import.meta.url)

/**
 * Grants older than this no longer count: one second, plus the time a granted request may
 * take to reach the store (so requests granted at the end of one window and sent a little
 * later never land in the next second together with that second's grants).
 */
export const BUDGET_WINDOW_MS = 1150
/** After a SlowDown the rate climbs back by this share of the limit per second (from half: 25 s). */
const RECOVERY_SHARE = 0.02

/** What one S3 request of a bucket takes before it is sent, and reports when it is throttled. */
export interface BudgetScope {
  take (): Promise<void>
  throttled (): void
}

const scope = new AsyncLocalStorage<BudgetScope>()

/** Runs `work` so that each S3 attempt it makes (SDK retries included) takes from `budget`. */
export function withBudget<T> (budget: BudgetScope | undefined, work: () => Promise<T>): Promise<T> {
  return budget ? scope.run(budget, work) : work()
}

/**
 * Adds the budget step to a client, after the SDK's retry step so that it runs once per
 * attempt: a retried request costs the store a request too, and its SlowDown is seen.
 */
export function addBudgetStep (client: S3Client): void {
  client.middlewareStack.addRelativeTo(budgetStep as Parameters<S3Client['middlewareStack']['addRelativeTo']>[0], {
    relation: 'after', toMiddleware: 'retryMiddleware', name: 'watchFolderRequestBudget', override: true
  })
}

function budgetStep (next: (args: unknown) => Promise<unknown>) {
  return async (args: unknown): Promise<unknown> => {
    const budget = scope.getStore()
    if (!budget) return await next(args)
    await budget.take()
    try {
      return await next(args)
    } catch (err) {
      if (isThrottling(err)) budget.throttled()
      throw err
    }
  }
}

function isThrottling (err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
  return status === 503 || status === 429 || (err as { name?: string }).name === 'SlowDown'
}

export interface RequestBudgetsOptions {
  redis: Redis
  keys: Keys
  /** The bucket's limit, requests per second (its max_requests_per_second or the default). */
  limitOf: (bucket: string) => number
  /** The rate in force, as each grant or SlowDown reports it: metrics. */
  onRate?: (bucket: string, rate: number) => void
  /** The store refused one of the bucket's requests with SlowDown or 429. */
  onThrottled?: (bucket: string) => void
  onError?: (err: unknown) => void
}

/**
 * Every S3 request the process makes for a bucket, within the bucket's budget shared by all
 * replicas (takeBudget.lua). Concurrent requests of one bucket share one Redis call: it asks
 * for as many grants as requests wait, and a refused call is retried when the oldest grant
 * leaves the window.
 */
export class RequestBudgets {
  readonly #opts: RequestBudgetsOptions
  readonly #take
  readonly #throttle
  readonly #buckets = new Map<string, BucketBudget>()
  readonly #nonce = randomBytes(6).toString('base64url')
  #calls = 0

  constructor (opts: RequestBudgetsOptions) {
    this.#opts = opts
    this.#take = defineScript<[number, number, number, number, string], [number, number, number]>(opts.redis, 'wfTakeBudget', lua('takeBudget'), 2)
    this.#throttle = defineScript<[number, number, number], number>(opts.redis, 'wfThrottleBudget', lua('throttleBudget'), 1)
  }

  /** The scope of one bucket's requests; `signal` ends its waits (the scan's). */
  scope (bucket: string, signal: AbortSignal): BudgetScope {
    return { take: () => this.#bucket(bucket).take(signal), throttled: () => this.#throttled(bucket) }
  }

  /** The bucket's rate in force now, requests per second. */
  async rate (bucket: string): Promise<number> {
    return await readRequestRate(this.#opts.redis, this.#opts.keys, bucket, this.#opts.limitOf(bucket))
  }

  /** Forgets a deleted bucket's waits (they fail) and its local state. */
  forget (bucket: string): void {
    this.#buckets.get(bucket)?.fail(new Error(`bucket ${bucket} removed`))
    this.#buckets.delete(bucket)
  }

  #bucket (name: string): BucketBudget {
    let budget = this.#buckets.get(name)
    if (!budget) {
      budget = new BucketBudget(wanted => this.#grant(name, wanted))
      this.#buckets.set(name, budget)
    }
    return budget
  }

  async #grant (bucket: string, wanted: number): Promise<Grant> {
    const limit = this.#opts.limitOf(bucket)
    const { keys } = this.#opts
    const [granted, waitMs, rate] = await this.#take([keys.requestGrants(bucket), keys.requestRate(bucket)], limit, wanted, BUDGET_WINDOW_MS, recovery(limit), `${this.#nonce}.${++this.#calls}`)
    this.#opts.onRate?.(bucket, rate)
    return { granted, waitMs }
  }

  #throttled (bucket: string): void {
    this.#opts.onThrottled?.(bucket)
    const limit = this.#opts.limitOf(bucket)
    this.#throttle([this.#opts.keys.requestRate(bucket)], limit, recovery(limit), 1)
      .then(rate => this.#opts.onRate?.(bucket, rate), err => this.#opts.onError?.(err))
  }
}

/** A bucket's rate in force now, requests per second, read on any connection (the API's status). */
export async function readRequestRate (redis: Redis, keys: Keys, bucket: string, limit: number): Promise<number> {
  const read = defineScript<[number, number], number>(redis, 'wfBudgetRate', lua('budgetRate'), 1)
  return await read([keys.requestRate(bucket)], limit, recovery(limit))
}

function recovery (limit: number): number {
  return Math.max(1, limit * RECOVERY_SHARE)
}

interface Grant { granted: number, waitMs: number }
interface Waiter { resolve: () => void, reject: (err: unknown) => void, signal: AbortSignal, onAbort: () => void }

/** One bucket's waiting requests in this process, served by one grant call at a time. */
class BucketBudget {
  readonly #grant: (wanted: number) => Promise<Grant>
  readonly #waiting: Waiter[] = []
  #asking = false
  #timer: NodeJS.Timeout | undefined

  constructor (grant: (wanted: number) => Promise<Grant>) {
    this.#grant = grant
  }

  take (signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: () => this.#drop(waiter, signal.reason) }
      signal.addEventListener('abort', waiter.onAbort, { once: true })
      this.#waiting.push(waiter)
      this.#ask()
    })
  }

  fail (err: Error): void {
    clearTimeout(this.#timer)
    for (const waiter of [...this.#waiting]) this.#drop(waiter, err)
  }

  #drop (waiter: Waiter, reason: unknown): void {
    const at = this.#waiting.indexOf(waiter)
    if (at >= 0) this.#waiting.splice(at, 1)
    waiter.signal.removeEventListener('abort', waiter.onAbort)
    waiter.reject(reason)
  }

  #ask (): void {
    if (this.#asking || this.#timer !== undefined || this.#waiting.length === 0) return
    this.#asking = true
    this.#grant(this.#waiting.length).then(grant => this.#serve(grant), err => this.fail(err as Error))
      .finally(() => { this.#asking = false; this.#ask() })
  }

  #serve ({ granted, waitMs }: Grant): void {
    for (const waiter of this.#waiting.splice(0, granted)) {
      waiter.signal.removeEventListener('abort', waiter.onAbort)
      waiter.resolve()
    }
    if (this.#waiting.length > 0 && granted === 0) {
      this.#timer = setTimeout(() => { this.#timer = undefined; this.#ask() }, waitMs)
    }
  }
}
