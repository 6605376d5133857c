import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { defineScript } from './scripts.ts'
import type { Keys } from './keys.ts'

const lua = (name: string) => new URL(`../lua/${name}.lua`, import.meta.url)

export const DISABLED_REASONS = ['gone', 'failing', 'operator'] as const
export type DisabledReason = typeof DISABLED_REASONS[number]

/** A subscription's delivery lifecycle as Redis holds it. */
export interface SubscriptionState {
  state: 'active' | 'disabled'
  disabled_reason: DisabledReason | null
  /** Epoch ms of the first failed attempt since the last success; null when the last one succeeded. */
  failing_since: number | null
  /** Entries parked while disabled. */
  parked: number
}

/** What a park needs besides the entry. */
export interface ParkOptions {
  bucket: string
  subscription: string
  nowMs: number
  maxParked: number
  /** Disables the subscription with this reason (a 410, or failing for disable_after). */
  disable?: DisabledReason | undefined
  /** The subscription's config says disabled (an operator's disable). */
  configDisabled: boolean
  /** An enable this recent outweighs a config that still says disabled, ms. */
  graceMs: number
}

export type ParkResult = { kind: 'parked', overflowed: number } | { kind: 'active' } | { kind: 'lost' }

function reasonOf (value: string | null): DisabledReason | null {
  return (DISABLED_REASONS as readonly string[]).includes(value ?? '') ? value as DisabledReason : null
}

/**
 * Per-subscription delivery state: active or disabled (with the reason), when its failures
 * began, and the entries parked while it is disabled. Each change of more than one key is a
 * script, so an entry is never both parked and in flight, or parked after an enable.
 */
export function createLifecycle (redis: Redis, keys: Keys) {
  const park = defineScript<string[], [number, number]>(redis, 'wfParkEntry', lua('parkEntry'), 4)
  const retryFailing = defineScript<[string, number, string, number], number>(redis, 'wfRetryFailing', lua('retryFailing'), 3)
  const enable = defineScript<[number, string], number>(redis, 'wfEnableSubscription', lua('enableSubscription'), 4)
  const stateKey = keys.subscriptionState

  return {
    async read (bucket: string, id: string): Promise<SubscriptionState> {
      const [[, fields], [, parked]] = await redis.multi().hmget(stateKey(bucket, id), 'state', 'reason', 'failing_since').llen(keys.parked(bucket, id)).exec() as [[null, Array<string | null>], [null, number]]
      const [state, reason, since] = fields
      return { state: state === 'disabled' ? 'disabled' : 'active', disabled_reason: state === 'disabled' ? reasonOf(reason ?? null) ?? 'operator' : null, failing_since: since ? Number(since) : null, parked }
    },

    /** Parks a claimed entry of a disabled subscription (see parkEntry.lua). */
    async park (consumerId: string, entry: string, parkedText: string, o: ParkOptions): Promise<ParkResult> {
      const [code, overflowed] = await park(
        [keys.processing(consumerId), stateKey(o.bucket, o.subscription), keys.parked(o.bucket, o.subscription), keys.deadLetter],
        entry, parkedText, String(Math.round(o.nowMs)), String(o.maxParked), o.disable ?? '', o.configDisabled ? '1' : '0', String(o.graceMs),
        randomUUID(), new Date(o.nowMs).toISOString(), o.subscription, `parked beyond webhook.max_parked (${o.maxParked}) while subscription ${o.subscription} was disabled`
      )
      if (code === 1) return { kind: 'parked', overflowed }
      return code === 2 ? { kind: 'active' } : { kind: 'lost' }
    },

    /** Schedules a failed attempt's retry and returns when the failures began (null: the entry was not ours). */
    async retryFailing (consumerId: string, entry: string, dueMs: number, updated: string, at: { bucket: string, subscription: string, nowMs: number }): Promise<number | null> {
      const since = await retryFailing([keys.processing(consumerId), keys.retry, stateKey(at.bucket, at.subscription)], entry, Math.round(dueMs), updated, Math.round(at.nowMs))
      return since < 0 ? null : since
    },

    /** A delivery succeeded: the run of failures is over. */
    async succeeded (bucket: string, id: string): Promise<void> {
      await redis.hdel(stateKey(bucket, id), 'failing_since')
    },

    /**
     * Enables the subscription, clears its URL's 410 mark (the status answer's `gone`) and moves
     * its parked entries to the queue head, oldest first; returns how many.
     */
    enable: (bucket: string, id: string, nowMs: number, webhookUrl = '') =>
      enable([stateKey(bucket, id), keys.parked(bucket, id), keys.queue, keys.endpointStatus], Math.round(nowMs), webhookUrl),

    /** Disables the subscription (one key: its state hash). */
    async disable (bucket: string, id: string, reason: DisabledReason, nowMs: number): Promise<void> {
      await redis.hset(stateKey(bucket, id), 'state', 'disabled', 'reason', reason, 'changed_at', Math.round(nowMs))
    }
  }
}

export type Lifecycle = ReturnType<typeof createLifecycle>
