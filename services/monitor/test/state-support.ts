import type { Redis } from 'ioredis'
import type { Keys } from '@internal/redis'

/** Every tracked key of a bucket and its fingerprint, read from the chunks themselves (not a counter). */
export async function trackedState (redis: Redis, keys: Keys, bucket: string): Promise<Record<string, string>> {
  const state: Record<string, string> = {}
  for (const lower of await redis.zrange(keys.stateIndex(bucket), 0, -1)) {
    Object.assign(state, await redis.hgetall(keys.stateChunkPrefix(bucket) + lower))
  }
  return state
}

export async function trackedKeys (redis: Redis, keys: Keys, bucket: string): Promise<string[]> {
  return Object.keys(await trackedState(redis, keys, bucket)).sort()
}
