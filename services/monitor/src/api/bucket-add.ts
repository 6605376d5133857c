import { checkDeadline, defineScript } from '@internal/redis'
import { bucketSecretNames, normalizeBucketInput, type BucketInput, type SecretKind } from '@internal/buckets'
import { ApiError, badRequest, parseInput } from './errors.ts'
import { AddBucketBody } from './schemas.ts'
import { assertCredentials, assertReachable, nowIso, writeSecrets, type BucketOpsContext } from './context.ts'

/**
 * POST /api/buckets/add. Order matters: refuse bad input, an existing name, unreachable or
 * private URLs and credentials S3 refuses before anything is written; then secrets, then the
 * secret-free config (which announces the bucket to every replica).
 */
export async function addBucket (ctx: BucketOpsContext, body: unknown) {
  const input = parseInput(AddBucketBody, body)
  assertAddable(ctx, input)
  const { stored, secrets, notificationsEnabled } = normalizeBucketInput(input, ctx.config.defaults, nowIso(ctx))
  return await ctx.withBucketLock(input.name, async () => {
    if (await ctx.redis.exists(ctx.keys.bucketConfig(input.name)) === 1) {
      throw new ApiError(409, `Bucket ${input.name} already exists`)
    }
    await assertReachable(ctx, stored)
    await assertCredentials(ctx, { bucket: stored.name, endpoint: stored.endpoint, accessKey: input.access_key, secretKey: input.secret_key, signingRegion: stored.signing_region })
    const names = bucketSecretNames(input.name)
    const entries = (Object.entries(secrets) as Array<[SecretKind, string]>).map(([kind, value]): [string, string] => [names[kind], value])
    await writeSecrets(ctx, entries, 'Failed to store credentials securely')
    if (!notificationsEnabled) await setFlag(ctx, ctx.keys.notificationsDisabled(input.name), 'true')
    const saved = await ctx.store.save(stored, 'create')
    if (!saved.ok) throw new ApiError(409, `Bucket ${input.name} already exists`)
    ctx.log.info({ bucket: input.name, endpoint: stored.endpoint }, 'bucket added')
    return {
      status: 'success',
      message: `Bucket ${input.name} added to active configuration`,
      bucket: input.name,
      note: 'S3 credentials stored securely in vault'
    }
  })
}

async function setFlag (ctx: BucketOpsContext, key: string, value: string): Promise<void> {
  const script = defineScript<[string, number], number>(ctx.redis, 'wfSetFlag', new URL('./lua/setFlag.lua', import.meta.url), 1)
  checkDeadline(await script([key], value, ctx.deadline()))
}

function assertAddable (ctx: BucketOpsContext, input: BucketInput): void {
  if (input.region === undefined && input.endpoint === undefined) throw badRequest("Either 'region' or 'endpoint' field is required", { field: 'region' })
  if (input.region !== undefined && input.endpoint !== undefined && input.region !== input.endpoint) {
    throw badRequest("Give 'region' or 'endpoint', not two different values", { field: 'endpoint' })
  }
  if (!input.webhook_url && !ctx.config.webhook.url) throw badRequest('Missing required field: webhook_url', { field: 'webhook_url' })
  const flat = [input.client_id, input.client_secret, input.token_url].filter(v => v !== undefined).length
  if (flat > 0 && flat < 3) throw badRequest('client_id, client_secret and token_url must be given together', { field: 'client_id' })
  if (flat === 3 && input.webhook_auth) throw badRequest('Give webhook_auth or the flat client_id/client_secret/token_url, not both', { field: 'webhook_auth' })
  if (input.scope !== undefined && flat === 0) throw badRequest('scope needs client_id, client_secret and token_url', { field: 'scope' })
}
