import { randomUUID } from 'node:crypto'
import { findSubscription } from '@internal/buckets'
import { checkDeadline, defineScript } from '@internal/redis'
import { replaySlice } from '../replay.ts'
import { ApiError, badRequest, notFound, parseInput } from './errors.ts'
import { BucketParams, ReplayBody } from './schemas.ts'
import type { BucketOpsContext } from './context.ts'

/**
 * POST /api/buckets/{name}/replay: re-announces the recorded objects of a slice (last_modified
 * window, key prefix) as new messages, to every subscription or to the chosen one only. The
 * state is read a page of chunks at a time and the events pushed a batch per script, so a
 * bucket of millions of objects never sits in memory.
 */
export function createReplay (ctx: BucketOpsContext) {
  const push = defineScript<string[], number>(ctx.redis, 'wfPushReplay', new URL('./lua/pushReplay.lua', import.meta.url), 2)

  return async function replay (params: unknown, body: unknown): Promise<{ count: number }> {
    const { name } = parseInput(BucketParams, params, 'params')
    const input = body === undefined || body === null ? {} : parseInput(ReplayBody, body)
    if (input.since !== undefined && input.until !== undefined && input.since > input.until) {
      throw badRequest('Invalid field since: must not be after until', { field: 'since', reason: 'after until' })
    }
    const bucket = await ctx.store.get(name)
    if (!bucket) throw notFound(`Bucket ${name} not found`)
    const subscription = input.subscription === undefined ? undefined : findSubscription(bucket, input.subscription, ctx.config.webhook.url)
    if (input.subscription !== undefined && !subscription) {
      throw new ApiError(404, `Subscription ${input.subscription} not found in bucket ${name}`, { field: 'subscription', code: 'SUBSCRIPTION_NOT_FOUND' })
    }
    // State of an earlier version (one hash per bucket) is moved into chunks by the bucket's next scan.
    if (await ctx.redis.exists(ctx.keys.objectState(name)) === 1) {
      throw new ApiError(409, `Bucket ${name}'s state is being moved to the current format by its next scan; try again after it`, { code: 'STATE_NOT_MIGRATED' })
    }
    const target = { bucket, subscription, replayId: randomUUID(), nowMs: ctx.now() }
    const slice = { sinceMs: input.since, untilMs: input.until, prefix: input.prefix }
    const count = await replaySlice(ctx.redis, ctx.keys, target, slice, async entries => {
      const pushed = checkDeadline(await push([ctx.keys.queue, ctx.keys.bucketConfig(name)], String(ctx.deadline()), ...entries))
      if (pushed === -1) throw notFound(`Bucket ${name} not found`)
    })
    ctx.log.info({ bucket: name, ...input, replayId: target.replayId, count }, 'replay queued')
    return { count }
  }
}
