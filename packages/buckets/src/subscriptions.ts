import { ALL_EVENTS, DEFAULT_SUBSCRIPTION, type Bucket, type DefaultSubscriptionRules, type StoredSubscription } from './schema.ts'
import { createKeyFilter, type KeyFilter } from './patterns.ts'

/** A subscription as the services use it; `inherited` when the default delivers to webhook.url. */
export type Subscription = StoredSubscription & { inherited?: boolean }

const views = new WeakMap<Bucket, { fallback: string | null, subs: Subscription[] }>()

/**
 * The bucket's subscriptions: `default` first (its webhook_url, else webhook.url, when either
 * is set), then the others in the order they were created. Cached per bucket object (the
 * registry replaces it on every change), so filters are compiled once.
 */
export function subscriptionsOf (bucket: Bucket, fallbackUrl: string | null): Subscription[] {
  const hit = views.get(bucket)
  if (hit && hit.fallback === fallbackUrl) return hit.subs
  const own = (bucket.subscriptions ?? []) as StoredSubscription[]
  const fallback = defaultSubscription(bucket, fallbackUrl)
  const subs = fallback ? [fallback, ...own] : [...own]
  views.set(bucket, { fallback: fallbackUrl, subs })
  return subs
}

function defaultSubscription (bucket: Bucket, fallbackUrl: string | null): Subscription | undefined {
  const url = bucket.webhook_url ?? fallbackUrl
  if (!url) return undefined
  const rules = (bucket.default_subscription ?? {}) as DefaultSubscriptionRules
  return {
    id: DEFAULT_SUBSCRIPTION,
    webhook_url: url,
    events: rules.events ?? [...ALL_EVENTS],
    ...(rules.prefix !== undefined && { prefix: rules.prefix }),
    ...(rules.suffix !== undefined && { suffix: rules.suffix }),
    ...(rules.include !== undefined && { include: rules.include }),
    ...(rules.exclude !== undefined && { exclude: rules.exclude }),
    format: rules.format ?? 'original',
    enabled: rules.enabled ?? true,
    ...(rules.retry_schedule !== undefined && { retry_schedule: rules.retry_schedule }),
    ...(bucket.webhook_url && bucket.webhook_auth && { webhook_auth: bucket.webhook_auth }),
    ...(bucket.has_signing_secret && { signing_secret_count: Number(bucket.signing_secret_count ?? 1) }),
    ...(!bucket.webhook_url && { inherited: true }),
    ...(bucket.added_at && { created_at: bucket.added_at }),
    ...(bucket.updated_at && { updated_at: bucket.updated_at })
  }
}

export function findSubscription (bucket: Bucket, id: string, fallbackUrl: string | null): Subscription | undefined {
  return subscriptionsOf(bucket, fallbackUrl).find(s => s.id === id)
}

const filters = new WeakMap<Subscription, KeyFilter | null>()

function keyFilter (sub: Subscription): KeyFilter | null {
  let filter = filters.get(sub)
  if (filter === undefined) {
    // A stored pattern picomatch cannot use (written before the rule) selects nothing.
    try { filter = createKeyFilter(sub.include, sub.exclude) } catch { filter = null }
    filters.set(sub, filter)
  }
  return filter
}

/** Whether a change is for this subscription: enabled, one of its events, and its key filters. */
export function matchesSubscription (sub: Subscription, change: { event_type: string, key: string }): boolean {
  return sub.enabled && selectsChange(sub, change)
}

/** Whether a subscription's events and key filters select a change, enabled or not (a disabled one parks it). */
export function selectsChange (sub: Subscription, change: { event_type: string, key: string }): boolean {
  if (!(sub.events as string[]).includes(change.event_type)) return false
  if (sub.prefix !== undefined && !change.key.startsWith(sub.prefix)) return false
  if (sub.suffix !== undefined && !change.key.endsWith(sub.suffix)) return false
  return keyFilter(sub)?.(change.key) ?? false
}

/**
 * Several signing secrets are kept as one secret: a single one as itself (the form a bucket's
 * signing_secret always had), more as a JSON array of strings.
 */
export function encodeSigningSecrets (secrets: readonly string[]): string {
  return secrets.length === 1 ? secrets[0]! : JSON.stringify(secrets)
}

export function decodeSigningSecrets (value: string | undefined): string[] {
  if (value === undefined || value === '') return []
  if (value.startsWith('["')) {
    try {
      const list: unknown = JSON.parse(value)
      if (Array.isArray(list) && list.every(s => typeof s === 'string')) return list as string[]
    } catch {}
  }
  return [value]
}
