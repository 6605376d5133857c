/**
 * A fixed-window counter per key (the client address): `limit` hits per `windowMs`. Time comes
 * from `now`, so tests move the clock instead of sleeping. Old windows are swept when the map
 * grows, so a flood of addresses cannot grow memory without bound.
 */
export interface RateLimiter {
  /** Counts one hit; `retryAfterSec` is set when the hit is refused. */
  hit (key: string): { allowed: boolean, retryAfterSec: number }
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
      if (!w || at - w.start >= windowMs) {
        if (windows.size >= SWEEP_AT) sweep(at)
        w = { start: at, count: 0 }
        windows.set(key, w)
      }
      w.count++
      if (w.count <= limit) return { allowed: true, retryAfterSec: 0 }
      return { allowed: false, retryAfterSec: Math.max(1, Math.ceil((w.start + windowMs - at) / 1000)) }
    }
  }
}
