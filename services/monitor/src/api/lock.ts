import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { defineScript, type Keys, type Redis } from '@internal/redis'
import { ApiError } from './errors.ts'

// Longer than the slowest add: a 10 s credential check plus secret writes Infisical may retry for ~15 s each.
const LOCK_TTL_MS = 60_000
const WAIT_MS = 5_000
const POLL_MS = 50

/**
 * Runs `work` while holding the bucket's API lock in Redis, so concurrent add/update/delete of
 * one bucket on any replica happen one after the other. A request that cannot get the lock
 * within a few seconds gets 409 and changes nothing.
 */
export function createBucketLock (redis: Redis, keys: Keys) {
  const release = defineScript<[string], number>(redis, 'wfReleaseApiLock', new URL('./lua/releaseApiLock.lua', import.meta.url), 1)
  return async function withBucketLock<T> (bucket: string, work: () => Promise<T>): Promise<T> {
    const key = keys.apiLock(bucket)
    const token = randomUUID()
    const deadline = Date.now() + WAIT_MS
    while (await redis.set(key, token, 'PX', LOCK_TTL_MS, 'NX') !== 'OK') {
      if (Date.now() >= deadline) throw new ApiError(409, `Bucket ${bucket} is being changed by another request; try again`)
      await sleep(POLL_MS)
    }
    try {
      return await work()
    } finally {
      await release([key], token)
    }
  }
}

export type BucketLock = ReturnType<typeof createBucketLock>
