import { subscriptionsOf, type BucketRegistry } from '@internal/buckets'
import type { DisabledReason, Lifecycle } from '@internal/redis'

/** One subscription's series: its state and parked count. */
export interface SubscriptionGauge { bucket: string, subscription: string, disabled: DisabledReason | null, parked: number }

/**
 * Every subscription's state and parked count, read at scrape time (one transaction per
 * subscription, pipelined by the connection). The config's `enabled: false` counts as an
 * operator's disable, as the delivery decision sees it.
 */
export async function subscriptionGauges (buckets: BucketRegistry, lifecycle: Lifecycle, fallbackUrl: string | null): Promise<SubscriptionGauge[]> {
  const subs = buckets.all().flatMap(bucket => subscriptionsOf(bucket, fallbackUrl).map(sub => ({ bucket: bucket.name, sub })))
  return await Promise.all(subs.map(async ({ bucket, sub }) => {
    const state = await lifecycle.read(bucket, sub.id)
    return { bucket, subscription: sub.id, disabled: state.disabled_reason ?? (sub.enabled ? null : 'operator'), parked: state.parked }
  }))
}
