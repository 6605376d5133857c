import { defineScript, type Redis } from '@internal/redis'
import type { Logger } from '@internal/telemetry'

/**
 * The token route's rate limit: a fixed window per client address counted in Redis, so every
 * replica shares one count. It is a store for @fastify/rate-limit (which builds the key,
 * RateLimit-* and Retry-After headers and the refusal); the window comes from `now`, not from
 * Redis expiry, so tests move an injected clock instead of waiting a minute.
 */
export function redisRateLimitStore ({ redis, prefix, windowMs, now }: { redis: Redis, prefix: string, windowMs: number, now: () => number }) {
  const count = defineScript<[number], number>(redis, 'wfCountTokenRequest', new URL('./lua/countTokenRequest.lua', import.meta.url), 1)
  return class RedisWindowStore {
    incr (key: string, done: (err: Error | null, result: { current: number, ttl: number }) => void): void {
      const at = now()
      const index = Math.floor(at / windowMs)
      count([`${prefix}${key}:${index}`], windowMs).then(
        current => done(null, { current, ttl: (index + 1) * windowMs - at }),
        err => done(err as Error, { current: 0, ttl: 0 })
      )
    }

    child (): RedisWindowStore { return this }
  }
}

const SWEEP_AT = 10_000

/**
 * Log lines of refused token requests: a flood would write one per request; instead the first
 * refusal of an address's window is logged and the rest counted, the count logged when that
 * address's next window opens. Per replica: each replica logs what it refused.
 */
export function createRefusalLog ({ log, windowMs, now }: { log: Logger, windowMs: number, now: () => number }) {
  const windows = new Map<string, { index: number, refused: number }>()
  return (ip: string, refused: boolean): void => {
    const index = Math.floor(now() / windowMs)
    let w = windows.get(ip)
    if (!w || w.index !== index) {
      if (w && w.refused > 0) log.warn({ ip, refused: w.refused }, 'api token requests rate limited: refusals in the last window')
      if (windows.size >= SWEEP_AT) for (const [key, old] of windows) if (old.index !== index) windows.delete(key)
      w = { index, refused: 0 }
      windows.set(ip, w)
    }
    if (!refused) return
    w.refused++
    if (w.refused === 1) log.warn({ ip }, 'api token requests rate limited; further refusals in this window are counted')
  }
}
