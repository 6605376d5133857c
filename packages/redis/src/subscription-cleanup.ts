import type { Redis } from 'ioredis'
import { defineScript } from './scripts.ts'
import { checkDeadline } from './deadline.ts'
import type { Keys } from './keys.ts'

/**
 * Removes a deleted subscription's retries, dead-letter records, state, parked entries and
 * endpoint-status mark in one script. Returns how many entries and records went.
 */
export function createSubscriptionCleanup (redis: Redis, keys: Keys, { deadline }: { deadline?: () => number } = {}) {
  const script = defineScript<[string, string, string, string], number>(redis, 'wfDropSubscription', new URL('../lua/dropSubscription.lua', import.meta.url), 5)
  return async function dropSubscription (bucket: string, id: string, unmarkUrl?: string): Promise<number> {
    const until = deadline === undefined ? '' : String(deadline())
    return checkDeadline(await script([keys.retry, keys.deadLetter, keys.endpointStatus, keys.subscriptionState(bucket, id), keys.parked(bucket, id)], bucket, id, unmarkUrl ?? '', until))
  }
}

export type DropSubscription = ReturnType<typeof createSubscriptionCleanup>
