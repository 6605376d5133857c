import type { Keys, Redis } from '@internal/redis'
import { safeUrl, type Target } from './target.ts'

/** How often a replica clears a URL's mark again after a successful delivery. */
const RECHECK_MS = 5000

/**
 * Records in the endpoint-status hash (read by the API's status answer) that a webhook URL
 * answered 410 Gone, and clears it when a delivery to it succeeds again. The mark may have
 * been written by another replica, or by this one before a restart, so a success clears it
 * at most once per RECHECK_MS per URL: deliveries in between cost no round trip.
 */
export function createGoneMarker (redis: Redis, keys: Keys, now: () => number) {
  const gone = new Set<string>()
  const clearedAt = new Map<string, number>()
  return async function markGone (target: Pick<Target, 'url' | 'rawUrl'>, bucket: string, isGone: boolean): Promise<void> {
    const url = target.rawUrl
    if (isGone) {
      if (gone.has(url)) return
      const value = { gone: true, status: 410, bucket, webhook_url: safeUrl(target.url), at: new Date(now()).toISOString() }
      await redis.hset(keys.endpointStatus, url, JSON.stringify(value))
      gone.add(url)
      clearedAt.delete(url)
      return
    }
    const last = clearedAt.get(url)
    if (!gone.has(url) && last !== undefined && now() - last < RECHECK_MS) return
    await redis.hdel(keys.endpointStatus, url)
    gone.delete(url)
    if (clearedAt.size >= 10_000) clearedAt.clear()
    clearedAt.set(url, now())
  }
}
