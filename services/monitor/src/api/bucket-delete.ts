import { DEFAULT_SUBSCRIPTION, SECRET_KINDS, SUBSCRIPTION_SECRET_KINDS, bucketSecretNames, subscriptionSecretName } from '@internal/buckets'
import { ApiError, notFound, parseInput } from './errors.ts'
import { BucketQuery } from './schemas.ts'
import type { BucketOpsContext } from './context.ts'

const SCAN_COUNT = 1000

/**
 * POST /api/buckets/delete?bucket=NAME: the secrets first (so a failure leaves the bucket in
 * place to retry), then config, switch, schedule, lease, state and status in one script, its
 * subscriptions' delivery state and parked events, then the per-object state strings the Python monitor kept. Afterwards Redis holds nothing of the bucket.
 */
export async function deleteBucket (ctx: BucketOpsContext, query: unknown) {
  const { bucket } = parseInput(BucketQuery, query, 'query')
  return await ctx.withBucketLock(bucket, async () => {
    const current = await ctx.store.get(bucket)
    // A stored config that no longer parses can still be deleted (it has no readable subscriptions).
    if (!current && await ctx.redis.exists(ctx.keys.bucketConfig(bucket)) === 0) throw notFound('Bucket not found')
    const names = bucketSecretNames(bucket)
    const subscriptionSecrets = (current?.subscriptions ?? []).flatMap(s => SUBSCRIPTION_SECRET_KINDS.map(kind => subscriptionSecretName(bucket, s.id, kind)))
    try {
      for (const name of [...SECRET_KINDS.map(kind => names[kind]), ...subscriptionSecrets]) await ctx.secrets.delete(name)
    } catch (err) {
      ctx.log.error({ err, bucket }, 'secret removal failed')
      throw new ApiError(500, `Failed to delete bucket credentials: ${(err as Error).message}`)
    }
    await ctx.store.remove(bucket)
    // Its subscriptions' delivery state and parked events (one command, so one step).
    const ids = [DEFAULT_SUBSCRIPTION, ...(current?.subscriptions ?? []).map(s => s.id)]
    await ctx.redis.unlink(...ids.flatMap(id => [ctx.keys.subscriptionState(bucket, id), ctx.keys.parked(bucket, id)]))
    const legacy = await removeLegacyState(ctx, bucket)
    ctx.log.info({ bucket, legacyStateKeys: legacy }, 'bucket deleted')
    return { status: 'success', message: `Bucket ${bucket} deleted completely` }
  })
}

/** Deletes the Python monitor's `{state_prefix}{bucket}:{key}` strings; returns how many went. */
export async function removeLegacyState (ctx: Pick<BucketOpsContext, 'redis' | 'keys'>, bucket: string): Promise<number> {
  let removed = 0
  let cursor = '0'
  do {
    const [next, found] = await ctx.redis.scan(cursor, 'MATCH', ctx.keys.legacyObjectStatePattern(bucket), 'COUNT', SCAN_COUNT)
    cursor = next
    if (found.length > 0) removed += await ctx.redis.unlink(...found)
  } while (cursor !== '0')
  return removed
}
