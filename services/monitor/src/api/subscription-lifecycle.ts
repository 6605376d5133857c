import type { Subscription } from '@internal/buckets'
import type { DisabledReason } from '@internal/redis'
import type { BucketOpsContext } from './context.ts'

/** A subscription as the API shows it: its config plus its delivery state. */
export type SubscriptionWithState = Subscription & { state: 'active' | 'disabled', disabled_reason: DisabledReason | null, parked: number }

/**
 * The subscription with its state: disabled when the consumer disabled it (gone, failing) or
 * an operator did (operator; also a config with `enabled: false`), and its parked count.
 */
export async function withState (ctx: BucketOpsContext, bucket: string, sub: Subscription): Promise<SubscriptionWithState> {
  const state = await ctx.lifecycle.read(bucket, sub.id)
  const reason = state.disabled_reason ?? (sub.enabled ? null : 'operator')
  return { ...sub, state: reason ? 'disabled' : 'active', disabled_reason: reason, parked: state.parked }
}

/**
 * Applies an operator's enable or disable to the delivery state, after the config is saved:
 * an enable moves the parked events to the queue head, oldest first (the consumers deliver
 * them before newer events) and clears the receiver's 410 mark; a disable parks the events
 * from now on (reason operator).
 */
export async function applyEnabled (ctx: BucketOpsContext, bucket: string, sub: Pick<Subscription, 'id' | 'webhook_url'>, enabled: boolean): Promise<void> {
  const { id } = sub
  if (!enabled) return await ctx.lifecycle.disable(bucket, id, 'operator', ctx.now())
  const moved = await ctx.lifecycle.enable(bucket, id, ctx.now(), sub.webhook_url)
  if (moved > 0) ctx.log.info({ bucket, subscription: id, parked: moved }, 'parked events queued for delivery')
}
