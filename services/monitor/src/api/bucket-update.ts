import { bucketSecretNames, TUNING_FIELDS, type Bucket, type StoredBucket, type StoredWebhookAuth } from '@internal/buckets'
import { ApiError, badRequest, notFound, parseInput } from './errors.ts'
import { UpdateBucketBody } from './schemas.ts'
import { assertCredentials, assertReachable, nowIso, writeSecrets, type BucketOpsContext } from './context.ts'

interface Plan {
  stored: StoredBucket
  /** Secret name -> new value. */
  set: Map<string, string>
  remove: string[]
  credentialsChanged: boolean
}

/**
 * POST /api/buckets/update. The bucket must exist before any secret is touched (writing the
 * secret store first would leave secrets of a bucket that does not exist); a rotation bumps `credentials_version` so every
 * replica sees a change and drops its cached S3 client and secrets.
 */
export async function updateBucket (ctx: BucketOpsContext, body: unknown) {
  const input = parseInput(UpdateBucketBody, body)
  if (Object.keys(input).length === 1) throw badRequest('Nothing to update: give at least one field besides name')
  if ((input.access_key === undefined) !== (input.secret_key === undefined)) {
    throw badRequest('Both access_key and secret_key must be provided when updating credentials', { field: input.access_key === undefined ? 'access_key' : 'secret_key' })
  }
  if (input.region !== undefined && input.endpoint !== undefined && input.region !== input.endpoint) {
    throw badRequest("Give 'region' or 'endpoint', not two different values", { field: 'endpoint' })
  }
  return await ctx.withBucketLock(input.name, async () => {
    const current = await ctx.store.get(input.name)
    if (!current) throw notFound(`Bucket ${input.name} not found`)
    // Without webhook_url a bucket delivers to webhook.url or to its other subscriptions only.
    if (input.webhook_url === null && !ctx.config.webhook.url && (current.subscriptions ?? []).length === 0) {
      throw badRequest('Invalid field webhook_url: there is no webhook.url to fall back on, and the bucket has no other subscription', { field: 'webhook_url' })
    }
    const plan = planUpdate(ctx, current, input)
    await assertReachable(ctx, plan.stored)
    const previous = await checkNewCredentials(ctx, current, plan, input)
    await writeSecrets(ctx, [...plan.set], 'Failed to update credentials securely', previous)
    const saved = await ctx.store.save(plan.stored, 'update')
    if (!saved.ok) throw notFound(`Bucket ${input.name} not found`)
    for (const name of plan.remove) await ctx.secrets.delete(name).catch((err: unknown) => ctx.log.warn({ err, secret: name }, 'secret removal failed'))
    if (input.notifications_enabled !== undefined) await ctx.store.setNotifications(input.name, input.notifications_enabled)
    ctx.log.info({ bucket: input.name, fields: Object.keys(input).filter(k => k !== 'name') }, 'bucket updated')
    return {
      status: 'success',
      message: `Bucket ${input.name} updated`,
      ...(input.access_key !== undefined && { note: 'S3 credentials updated in vault' })
    }
  })
}

function planUpdate (ctx: BucketOpsContext, current: Bucket, input: UpdateBucketBody): Plan {
  const names = bucketSecretNames(current.name)
  const { notifications_enabled: _n, ...base } = current
  const stored: StoredBucket = { ...base, updated_at: nowIso(ctx) }
  const plan: Plan = { stored, set: new Map(), remove: [], credentialsChanged: false }
  const endpoint = input.endpoint ?? input.region
  if (endpoint !== undefined) stored.endpoint = endpoint
  if (input.webhook_url !== undefined) stored.webhook_url = input.webhook_url
  for (const field of TUNING_FIELDS) {
    if (input[field] === null) delete stored[field]
    else if (input[field] !== undefined) (stored as Record<string, unknown>)[field] = input[field]
  }
  if (input.access_key !== undefined && input.secret_key !== undefined) {
    plan.set.set(names.ACCESS_KEY, input.access_key).set(names.SECRET_KEY, input.secret_key)
    plan.credentialsChanged = true
  }
  planSigningSecret(plan, input.signing_secret, names.SIGNING_SECRET)
  planWebhookAuth(plan, current.webhook_auth, input, names.WEBHOOK_CLIENT_SECRET)
  if (plan.set.size > 0 || plan.remove.length > 0) {
    stored.credentials_version = Number(current.credentials_version ?? 0) + 1
  }
  return plan
}

function planSigningSecret (plan: Plan, value: string | null | undefined, name: string): void {
  if (value === undefined) return
  if (value === null) {
    plan.remove.push(name)
    delete plan.stored.has_signing_secret
  } else {
    plan.set.set(name, value)
    plan.stored.has_signing_secret = true
  }
}

/**
 * OAuth2 fields merge into the stored ones: the flat client_id/client_secret/
 * token_url or a webhook_auth object; a token_url left out keeps the stored one (dropping
 * it would send webhooks without a token); `webhook_auth: null` removes OAuth2.
 */
function planWebhookAuth (plan: Plan, current: StoredWebhookAuth | undefined, input: UpdateBucketBody, secretName: string): void {
  if (input.webhook_auth === null) {
    delete plan.stored.webhook_auth
    plan.remove.push(secretName)
    return
  }
  const given = input.webhook_auth ?? { client_id: input.client_id, client_secret: input.client_secret, token_url: input.token_url, scope: input.scope }
  if (Object.values(given).every(v => v === undefined || v === 'oauth2')) return
  const clientId = given.client_id ?? current?.client_id
  const tokenUrl = given.token_url ?? current?.token_url
  const scope = given.scope ?? current?.scope
  if (!clientId) throw badRequest('Missing required field: client_id (the bucket has no OAuth2 client yet)', { field: 'client_id' })
  if (!tokenUrl) throw badRequest('Missing required field: token_url (the bucket has no stored token_url)', { field: 'token_url' })
  if (!current && given.client_secret === undefined) throw badRequest('Missing required field: client_secret', { field: 'client_secret' })
  plan.stored.webhook_auth = { type: 'oauth2', client_id: clientId, token_url: tokenUrl, ...(scope !== undefined && { scope }) }
  if (given.client_secret !== undefined) plan.set.set(secretName, given.client_secret)
}

/**
 * When the endpoint or the S3 keys change, lists one key with the new combination (422 if S3
 * refuses) and returns the current secret values, so a failed write can be rolled back.
 */
async function checkNewCredentials (ctx: BucketOpsContext, current: Bucket, plan: Plan, input: UpdateBucketBody): Promise<Map<string, string>> {
  const names = bucketSecretNames(current.name)
  const previous = new Map<string, string>()
  for (const name of plan.set.keys()) {
    const value = await ctx.secrets.get(name).catch(() => undefined)
    if (value !== undefined) previous.set(name, value)
  }
  const endpointChanged = plan.stored.endpoint !== current.endpoint || plan.stored.signing_region !== current.signing_region
  if (!endpointChanged && !plan.credentialsChanged) return previous
  const accessKey = input.access_key ?? await ctx.secrets.get(names.ACCESS_KEY)
  const secretKey = input.secret_key ?? await ctx.secrets.get(names.SECRET_KEY)
  if (!accessKey || !secretKey) throw new ApiError(422, `Bucket ${current.name} has no stored S3 credentials; give access_key and secret_key`)
  await assertCredentials(ctx, { bucket: current.name, endpoint: plan.stored.endpoint, accessKey, secretKey, signingRegion: plan.stored.signing_region })
  return previous
}
