import { randomBytes } from 'node:crypto'
import {
  ALL_EVENTS, DEFAULT_SUBSCRIPTION, MAX_SUBSCRIPTIONS, SUBSCRIPTION_SECRET_KINDS, encodeSigningSecrets, findSubscription, subscriptionSecretName,
  subscriptionsOf, type Bucket, type StoredBucket, type StoredSubscription, type Subscription, type SubscriptionSecretKind
} from '@internal/buckets'
import { ApiError, badRequest, notFound, parseInput } from './errors.ts'
import { CreateSubscriptionBody, PatchSubscriptionBody } from './subscription-schemas.ts'
import { assertReachable, nowIso, writeSecrets, type BucketOpsContext } from './context.ts'
import { applyEnabled, withState, type SubscriptionWithState } from './subscription-lifecycle.ts'

/** Secret name -> new value, and names to delete once the config is saved. */
interface SecretPlan { set: Map<string, string>, remove: string[] }

type WebhookAuthGiven = CreateSubscriptionBody['webhook_auth'] | null

/** The bucket, or 404. */
export async function loadBucket (ctx: BucketOpsContext, name: string): Promise<Bucket> {
  const bucket = await ctx.store.get(name)
  if (!bucket) throw notFound(`Bucket ${name} not found`)
  return bucket
}

export function listSubscriptions (ctx: BucketOpsContext, bucket: Bucket): Subscription[] {
  return subscriptionsOf(bucket, ctx.config.webhook.url)
}

export function subscriptionOr404 (ctx: BucketOpsContext, bucket: Bucket, id: string): Subscription {
  const sub = findSubscription(bucket, id, ctx.config.webhook.url)
  if (!sub) throw notFound(`Subscription ${id} not found in bucket ${bucket.name}`)
  return sub
}

/** POST /api/buckets/:name/subscriptions: 201 with the stored subscription (no secret). */
export async function createSubscription (ctx: BucketOpsContext, name: string, body: unknown): Promise<Subscription> {
  const input = parseInput(CreateSubscriptionBody, body)
  return await ctx.withBucketLock(name, async () => {
    const bucket = await loadBucket(ctx, name)
    const id = input.id ?? `sub-${randomBytes(4).toString('hex')}`
    if (findSubscription(bucket, id, ctx.config.webhook.url)) throw new ApiError(409, `Subscription ${id} already exists in bucket ${name}`, { field: 'id' })
    if (id !== DEFAULT_SUBSCRIPTION && (bucket.subscriptions?.length ?? 0) >= MAX_SUBSCRIPTIONS) {
      throw badRequest(`Bucket ${name} has ${MAX_SUBSCRIPTIONS} subscriptions already, the most it may have`)
    }
    const { webhook_auth: auth, signing_secrets: signing, ...rules } = input
    const sub: StoredSubscription = {
      ...rules,
      id,
      events: input.events ?? [...ALL_EVENTS],
      format: input.format ?? 'original',
      enabled: input.enabled ?? true,
      ...(auth && { webhook_auth: publicAuth(auth) }),
      ...(signing && { signing_secret_count: signing.length }),
      created_at: nowIso(ctx)
    }
    await assertReachable(ctx, sub)
    const plan: SecretPlan = { set: new Map(), remove: [] }
    planSecrets(plan, name, id, auth, signing)
    await commit(ctx, withSubscription(bucket, sub), plan, new Map())
    ctx.log.info({ bucket: name, subscription: id, format: sub.format }, 'subscription created')
    return sub
  })
}

/**
 * PATCH (and enable/disable): merges the fields given into the subscription; `enabled` also
 * changes its delivery state (an enable delivers its parked events first).
 */
export async function patchSubscription (ctx: BucketOpsContext, name: string, id: string, body: unknown): Promise<SubscriptionWithState> {
  const input = parseInput(PatchSubscriptionBody, body)
  return await ctx.withBucketLock(name, async () => {
    const bucket = await loadBucket(ctx, name)
    const current = subscriptionOr404(ctx, bucket, id)
    const { inherited: _i, ...base } = current
    const next: StoredSubscription = { ...base, updated_at: nowIso(ctx) }
    const { webhook_auth: auth, signing_secrets: signing, ...rules } = input
    for (const [field, value] of Object.entries(rules)) {
      if (value === null) delete (next as Record<string, unknown>)[field]
      else if (value !== undefined) (next as Record<string, unknown>)[field] = value
    }
    if (auth === null) delete next.webhook_auth
    else if (auth) next.webhook_auth = publicAuth(auth)
    if (signing === null) delete next.signing_secret_count
    else if (signing) next.signing_secret_count = signing.length
    if (input.webhook_url !== undefined || auth) await assertReachable(ctx, next)
    if (current.inherited && next.webhook_url === current.webhook_url) Object.assign(next, { webhook_url: undefined })
    const plan: SecretPlan = { set: new Map(), remove: [] }
    planSecrets(plan, name, id, auth, signing)
    await commit(ctx, withSubscription(bucket, next), plan, await currentValues(ctx, plan))
    if (input.enabled !== undefined) await applyEnabled(ctx, name, { id, webhook_url: next.webhook_url ?? current.webhook_url }, input.enabled)
    ctx.log.info({ bucket: name, subscription: id, fields: Object.keys(input) }, 'subscription updated')
    return await withState(ctx, name, findSubscription(await loadBucket(ctx, name), id, ctx.config.webhook.url) ?? next)
  })
}

/**
 * DELETE: the subscription leaves the bucket's config, its secrets the secret store, and its
 * retries and dead-letter records Redis. Deleting `default` clears the bucket's webhook_url,
 * webhook_auth and signing secrets (a default that only inherits webhook.url cannot go: disable it).
 */
export async function deleteSubscription (ctx: BucketOpsContext, name: string, id: string) {
  return await ctx.withBucketLock(name, async () => {
    const bucket = await loadBucket(ctx, name)
    const sub = subscriptionOr404(ctx, bucket, id)
    if (sub.inherited) throw badRequest(`Subscription ${id} of bucket ${name} delivers to webhook.url and cannot be deleted; disable it instead`, { field: 'id' })
    const plan: SecretPlan = { set: new Map(), remove: SUBSCRIPTION_SECRET_KINDS.map(kind => subscriptionSecretName(name, id, kind)) }
    await commit(ctx, withoutSubscription(bucket, id), plan, new Map())
    const stillUsed = listSubscriptions(ctx, await loadBucket(ctx, name)).some(s => s.webhook_url === sub.webhook_url)
    const dropped = await ctx.dropSubscription(name, id, stillUsed ? undefined : sub.webhook_url)
    ctx.log.info({ bucket: name, subscription: id, dropped }, 'subscription deleted')
    return { status: 'success' as const, message: `Subscription ${id} of bucket ${name} deleted`, bucket: name, id }
  })
}

function publicAuth (auth: NonNullable<WebhookAuthGiven>) {
  return { type: 'oauth2' as const, client_id: auth.client_id, token_url: auth.token_url, ...(auth.scope !== undefined && { scope: auth.scope }) }
}

function planSecrets (plan: SecretPlan, bucket: string, id: string, auth: WebhookAuthGiven | undefined, signing: string[] | null | undefined): void {
  const name = (kind: SubscriptionSecretKind) => subscriptionSecretName(bucket, id, kind)
  if (auth === null) plan.remove.push(name('WEBHOOK_CLIENT_SECRET'))
  else if (auth) plan.set.set(name('WEBHOOK_CLIENT_SECRET'), auth.client_secret)
  if (signing === null) plan.remove.push(name('SIGNING_SECRET'))
  else if (signing) plan.set.set(name('SIGNING_SECRET'), encodeSigningSecrets(signing))
}

async function currentValues (ctx: BucketOpsContext, plan: SecretPlan): Promise<Map<string, string>> {
  const previous = new Map<string, string>()
  for (const name of plan.set.keys()) {
    const value = await ctx.secrets.get(name).catch(() => undefined)
    if (value !== undefined) previous.set(name, value)
  }
  return previous
}

/** Secrets first (rolled back on failure), then the config; removed secrets go last. */
async function commit (ctx: BucketOpsContext, stored: StoredBucket, plan: SecretPlan, previous: Map<string, string>): Promise<void> {
  await writeSecrets(ctx, [...plan.set], 'Failed to store subscription secrets securely', previous)
  const saved = await ctx.store.save(stored, 'update')
  if (!saved.ok) throw notFound(`Bucket ${stored.name} not found`)
  for (const name of plan.remove) {
    await ctx.secrets.delete(name).catch((err: unknown) => ctx.log.warn({ err, secret: name }, 'secret removal failed'))
  }
}

/** The bucket's stored config with `sub` added or replaced (the default lives in the bucket's own fields). */
function withSubscription (bucket: Bucket, sub: StoredSubscription): StoredBucket {
  const { notifications_enabled: _n, ...stored } = bucket
  if (sub.id !== DEFAULT_SUBSCRIPTION) {
    const others = (stored.subscriptions ?? []).filter(s => s.id !== sub.id)
    const at = (stored.subscriptions ?? []).findIndex(s => s.id === sub.id)
    others.splice(at === -1 ? others.length : at, 0, sub)
    return { ...stored, subscriptions: others }
  }
  const { id: _id, webhook_url: url, webhook_auth: auth, signing_secret_count: count, created_at: _c, updated_at: _u, ...rules } = sub
  const next: StoredBucket = { ...stored, default_subscription: rules, updated_at: sub.updated_at ?? stored.updated_at }
  if (url !== undefined) next.webhook_url = url
  if (auth) next.webhook_auth = auth
  else delete next.webhook_auth
  if (count) Object.assign(next, { has_signing_secret: true, signing_secret_count: count })
  else { delete next.has_signing_secret; delete next.signing_secret_count }
  return next
}

function withoutSubscription (bucket: Bucket, id: string): StoredBucket {
  const { notifications_enabled: _n, ...stored } = bucket
  if (id !== DEFAULT_SUBSCRIPTION) return { ...stored, subscriptions: (stored.subscriptions ?? []).filter(s => s.id !== id) }
  const { webhook_url: _w, webhook_auth: _a, has_signing_secret: _h, signing_secret_count: _c, default_subscription: _d, ...rest } = stored
  return rest
}
