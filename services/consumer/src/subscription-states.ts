import type { Subscription } from '@internal/buckets'
import type { DisabledReason, Lifecycle } from '@internal/redis'
import type { SubscriptionView } from './decide.ts'

/** How long a replica trusts its copy of a subscription's state before reading it again, ms. */
const FRESH_MS = 1000

interface Cached { at: number, disabled: DisabledReason | null, failingSinceMs: number | null }

/**
 * Each subscription's state as the decision sees it: disabled when Redis says so (gone,
 * failing, operator) or its config does (operator). Read from Redis at most once per FRESH_MS
 * per subscription, and updated at once by this replica's own changes; a change by another
 * replica is seen within FRESH_MS (meanwhile an attempt to a disabled subscription's
 * receiver is settled by its answer, and a failure is parked at its next claim).
 */
export function createSubscriptionStates (lifecycle: Lifecycle, now: () => number) {
  const cache = new Map<string, Cached>()
  const idOf = (bucket: string, sub: string) => `${bucket}\0${sub}`

  async function fresh (bucket: string, sub: string): Promise<Cached> {
    const hit = cache.get(idOf(bucket, sub))
    if (hit && now() - hit.at < FRESH_MS) return hit
    const state = await lifecycle.read(bucket, sub)
    const read = { at: now(), disabled: state.disabled_reason, failingSinceMs: state.failing_since }
    if (cache.size >= 10_000) cache.clear()
    cache.set(idOf(bucket, sub), read)
    return read
  }

  return {
    async get (bucket: string, sub: Subscription): Promise<SubscriptionView> {
      const { disabled, failingSinceMs } = await fresh(bucket, sub.id)
      return { disabled: disabled ?? (sub.enabled ? null : 'operator'), failingSinceMs }
    },
    /** Records a change this replica made in Redis. */
    note (bucket: string, sub: string, change: Partial<Omit<Cached, 'at'>>): void {
      const hit = cache.get(idOf(bucket, sub))
      if (hit) Object.assign(hit, change)
    },
    /** A delivery succeeded: clears the failure record when this replica knows of one. */
    async succeeded (bucket: string, sub: string): Promise<void> {
      const hit = cache.get(idOf(bucket, sub))
      if (!hit || hit.failingSinceMs === null) return
      hit.failingSinceMs = null
      await lifecycle.succeeded(bucket, sub)
    }
  }
}

export type SubscriptionStates = ReturnType<typeof createSubscriptionStates>
