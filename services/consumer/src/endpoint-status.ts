import type { Keys, Redis } from '@internal/redis'
import { safeUrl, type Target } from './target.ts'

/**
 * Records in the endpoint-status hash (read by the API's status answer) that a webhook URL
 * answered 410 Gone, and clears it when a delivery to it succeeds again. Only changes this
 * replica has not written yet cost a round trip.
 */
export function createGoneMarker (redis: Redis, keys: Keys, now: () => number) {
  const gone = new Set<string>()
  return async function markGone (target: Target, bucket: string, isGone: boolean): Promise<void> {
    if (isGone === gone.has(target.rawUrl)) return
    if (isGone) {
      const value = { gone: true, status: 410, bucket, webhook_url: safeUrl(target.url), at: new Date(now()).toISOString() }
      await redis.hset(keys.endpointStatus, target.rawUrl, JSON.stringify(value))
      gone.add(target.rawUrl)
    } else {
      await redis.hdel(keys.endpointStatus, target.rawUrl)
      gone.delete(target.rawUrl)
    }
  }
}
