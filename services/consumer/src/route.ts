import { findSubscription, selectsChange, subscriptionsOf, type Bucket, type Subscription } from '@internal/buckets'
import type { QueuedEvent } from '@internal/events'
import { noTarget } from './target.ts'
import type { DeliveryError } from './errors.ts'

/** Where a claimed entry goes. */
export type Route =
  | { kind: 'deliver', bucket: Bucket, sub: Subscription }
  /** Several subscriptions match: one tagged entry each, delivered independently. */
  | { kind: 'fan-out', bucket: Bucket, subs: Subscription[] }
  /** Nothing to deliver: no subscription selects the change, or its subscription is gone. */
  | { kind: 'none', why: 'filtered' | 'subscription gone' }
  | { kind: 'error', error: DeliveryError }

export interface RouterDeps {
  /** The live bucket view; `fetch` reads one bucket from the store when the view lacks it (a change not seen yet). */
  buckets: { get (name: string): Bucket | undefined, fetch? (name: string): Promise<Bucket | undefined> }
  /** webhook.url: the default subscription of buckets without their own webhook_url. */
  defaultUrl: string | null
}

/**
 * Decides which subscriptions receive an entry. An entry the monitor wrote carries no
 * subscription: it goes to every subscription it matches (the one decision point for
 * filters), enabled or not (a disabled subscription parks its events). A tagged entry goes to
 * its subscription only, if that still exists.
 */
export function createRouter ({ buckets, defaultUrl }: RouterDeps) {
  async function bucketOf (name: string, fresh = false): Promise<Bucket | undefined> {
    return (fresh ? undefined : buckets.get(name)) ?? await buckets.fetch?.(name)
  }

  async function tagged (event: QueuedEvent, id: string): Promise<Route> {
    let bucket = await bucketOf(event.bucket)
    if (!bucket) return { kind: 'error', error: noTarget(event.bucket, bucket) }
    let sub = findSubscription(bucket, id, defaultUrl)
    // The subscription may be newer than this replica's view of the bucket.
    if (!sub && buckets.fetch) {
      bucket = await bucketOf(event.bucket, true) ?? bucket
      sub = findSubscription(bucket, id, defaultUrl)
    }
    if (!sub) return { kind: 'none', why: 'subscription gone' }
    return { kind: 'deliver', bucket, sub }
  }

  return async function route (event: QueuedEvent): Promise<Route> {
    if (event.subscription !== undefined) return await tagged(event, event.subscription)
    const bucket = await bucketOf(event.bucket)
    const all = bucket ? subscriptionsOf(bucket, defaultUrl) : []
    if (!bucket || all.length === 0) return { kind: 'error', error: noTarget(event.bucket, bucket) }
    const subs = all.filter(sub => selectsChange(sub, event)) // a disabled one's are parked
    if (subs.length === 0) return { kind: 'none', why: 'filtered' }
    if (subs.length === 1) return { kind: 'deliver', bucket, sub: subs[0]! }
    return { kind: 'fan-out', bucket, subs }
  }
}

export type Router = ReturnType<typeof createRouter>
