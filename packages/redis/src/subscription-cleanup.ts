import type { Redis } from 'ioredis'
import { defineScript } from './scripts.ts'
import { checkDeadline } from './deadline.ts'
import type { Keys } from './keys.ts'
import { createHistory } from './history.ts'

/**
 * Removes a deleted subscription's retries, dead-letter records, state, parked entries and
 * endpoint-status mark in one script, then its deliveries from the bucket's attempt history
 * (in batches, each a script of its own). Returns how many entries and records went.
 */
export function createSubscriptionCleanup (redis: Redis, keys: Keys, { deadline }: { deadline?: () => number } = {}) {
  const script = defineScript<[string, string, string, string], number>(redis, 'wfDropSubscription', new URL('../lua/dropSubscription.lua', import.meta.url), 5)
  const history = createHistory(redis, keys, { ttlMs: 0 }) // forgetting sets no expiry
  return async function dropSubscription (bucket: string, id: string, unmarkUrl?: string): Promise<number> {
    const until = deadline === undefined ? '' : String(deadline())
    const dropped = checkDeadline(await script([keys.retry, keys.deadLetter, keys.endpointStatus, keys.subscriptionState(bucket, id), keys.parked(bucket, id)], bucket, id, unmarkUrl ?? '', until))
    await history.forgetSubscription(bucket, id)
    return dropped
  }
}

export type DropSubscription = ReturnType<typeof createSubscriptionCleanup>
