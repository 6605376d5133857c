import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { checkDeadline, defineScript, type Keys, type Redis } from '@internal/redis'
import { ApiError, isRedisUnavailable } from './errors.ts'

// Longer than the slowest add: a 10 s credential check plus secret writes Infisical may retry for ~15 s each.
const LOCK_TTL_MS = 60_000
const WAIT_MS = 5_000
const POLL_MS = 50

/**
 * Runs `work` while holding the bucket's API lock in Redis, so concurrent add/update/delete of
 * one bucket on any replica happen one after the other. A request that cannot get the lock
 * within a few seconds gets 409 and changes nothing. `deadline` (Redis clock) bounds each
 * attempt: Redis refuses one that reaches it too late.
 */
export function createBucketLock (redis: Redis, keys: Keys, deadline: () => number) {
  const acquire = defineScript<[string, number, number], number>(redis, 'wfAcquireApiLock', new URL('./lua/acquireApiLock.lua', import.meta.url), 1)
  const release = defineScript<[string], number>(redis, 'wfReleaseApiLock', new URL('./lua/releaseApiLock.lua', import.meta.url), 1)
  // A failed release (Redis gone) leaves the lock to expire by itself; the request's own error is the answer.
  const releaseQuietly = (key: string, token: string) => release([key], token).catch(() => 0)

  async function take (key: string, token: string): Promise<boolean> {
    try {
      return checkDeadline(await acquire([key], token, LOCK_TTL_MS, deadline())) === 1
    } catch (err) {
      // The attempt may still have run in time with its answer lost: free it, in order behind it.
      void releaseQuietly(key, token)
      throw err
    }
  }

  return async function withBucketLock<T> (bucket: string, work: () => Promise<T>): Promise<T> {
    const key = keys.apiLock(bucket)
    const token = randomUUID()
    const waitUntil = Date.now() + WAIT_MS
    while (!await take(key, token)) {
      if (Date.now() >= waitUntil) throw new ApiError(409, `Bucket ${bucket} is being changed by another request; try again`)
      await sleep(POLL_MS)
    }
    let failure: unknown
    try {
      return await work()
    } catch (err) {
      failure = err
      throw err
    } finally {
      // With Redis not answering, waiting for the release would hold the 503 as long again; it
      // lands when Redis is back (it frees only this token's lock) or the lock expires.
      const released = releaseQuietly(key, token)
      if (!isRedisUnavailable(failure)) await released
    }
  }
}

export type BucketLock = ReturnType<typeof createBucketLock>
