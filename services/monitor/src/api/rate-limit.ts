import { defineScript, type Redis } from '@internal/redis'

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
