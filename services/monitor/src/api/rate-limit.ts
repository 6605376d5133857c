/**
 * A fixed-window counter per key (the client address): `limit` hits per `windowMs`. Time comes
 * from `now`, so tests move the clock instead of sleeping. Old windows are swept when the map
 * grows, so a flood of addresses cannot grow memory without bound.
 */
export interface RateLimiter {
  hit (key: string): RateLimitHit
}

export interface RateLimitHit {
  allowed: boolean
  /** Set when the hit is refused. */
  retryAfterSec: number
  /** Refusals of this key in the current window, this hit included. */
  refused: number
  /** Refusals of this key's previous window, reported once: on the first hit of the next window. */
  refusedBefore: number
}

const SWEEP_AT = 10_000

export function createRateLimiter ({ limit, windowMs, now }: { limit: number, windowMs: number, now: () => number }): RateLimiter {
  const windows = new Map<string, { start: number, count: number }>()
  function sweep (at: number): void {
    for (const [key, w] of windows) if (at - w.start >= windowMs) windows.delete(key)
  }
  return {
    hit (key) {
      const at = now()
      let w = windows.get(key)
      let refusedBefore = 0
      if (!w || at - w.start >= windowMs) {
        refusedBefore = w ? Math.max(0, w.count - limit) : 0
        if (windows.size >= SWEEP_AT) sweep(at)
        w = { start: at, count: 0 }
        windows.set(key, w)
      }
      w.count++
      const refused = Math.max(0, w.count - limit)
      if (refused === 0) return { allowed: true, retryAfterSec: 0, refused, refusedBefore }
      return { allowed: false, retryAfterSec: Math.max(1, Math.ceil((w.start + windowMs - at) / 1000)), refused, refusedBefore }
    }
  }
}
