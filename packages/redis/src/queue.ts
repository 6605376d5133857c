import type { Redis } from 'ioredis'
import { defineScript } from './scripts.ts'
import type { Keys } from './keys.ts'

const lua = (name: string) => new URL(`../lua/${name}.lua`, import.meta.url)

/** Depths of every delivery list, for metrics. */
export interface QueueDepths {
  queue: number
  processing: number
  retry: number
  deadLetter: number
}

/**
 * The reliable hand-off between the monitor's list and the consumers: an entry moves
 * atomically into a processing list owned by one consumer and leaves it only when settled.
 * A settle returns false when the entry was no longer ours (a reaper gave it back to the
 * queue after our heartbeat went silent): the caller then does nothing more with it.
 */
export function createDeliveryQueue (redis: Redis, keys: Keys) {
  const claimBatch = defineScript<[number], string[]>(redis, 'wfClaimBatch', lua('claimBatch'), 2)
  const retryLater = defineScript<[string, number, string], number>(redis, 'wfRetryLater', lua('retryLater'), 2)
  const deadLetter = defineScript<[string, string], number>(redis, 'wfDeadLetter', lua('deadLetter'), 2)
  const promote = defineScript<[number, number], number>(redis, 'wfPromoteRetries', lua('promoteRetries'), 2)
  const heartbeat = defineScript<[string, number], number>(redis, 'wfHeartbeat', lua('heartbeat'), 1)
  const reap = defineScript<[string, string], number>(redis, 'wfReapConsumer', lua('reapConsumer'), 3)
  const requeue = defineScript<[string], number>(redis, 'wfRequeue', lua('requeue'), 2)
  const ackMany = defineScript<string[], number[]>(redis, 'wfAckMany', lua('ackMany'), 1)
  const fanOut = defineScript<string[], number>(redis, 'wfFanOut', lua('fanOut'), 2)
  const processing = keys.processing
  const suspects = new Map<string, number>() // unowned processing lists, by when first seen

  return {
    /** Claims up to `max` entries without waiting. */
    claim: (consumerId: string, max: number) => claimBatch([keys.queue, processing(consumerId)], max),

    /**
     * Waits up to `timeoutSec` for one entry on `blocking`, a connection of its own (a blocked
     * connection can run nothing else). Returns null on timeout.
     */
    claimBlocking: (blocking: Redis, consumerId: string, timeoutSec: number) =>
      blocking.blmove(keys.queue, processing(consumerId), 'LEFT', 'RIGHT', timeoutSec),

    async ack (consumerId: string, entry: string): Promise<boolean> {
      return await redis.lrem(processing(consumerId), 1, entry) === 1
    },

    /** Acknowledges several entries in one round trip; true per entry that was still ours. */
    async ackMany (consumerId: string, entries: string[]): Promise<boolean[]> {
      if (entries.length === 0) return []
      return (await ackMany([processing(consumerId)], ...entries)).map(n => n === 1)
    },

    async retryLater (consumerId: string, entry: string, dueMs: number, updated: string): Promise<boolean> {
      return await retryLater([processing(consumerId), keys.retry], entry, Math.round(dueMs), updated) === 1
    },

    async deadLetter (consumerId: string, entry: string, record: string): Promise<boolean> {
      return await deadLetter([processing(consumerId), keys.deadLetter], entry, record) === 1
    },

    /** Replaces a claimed entry by per-subscription entries at the queue head, in one step. */
    async fanOut (consumerId: string, entry: string, parts: string[]): Promise<boolean> {
      return await fanOut([processing(consumerId), keys.queue], entry, ...parts) === 1
    },

    /** Moves due retries back onto the queue; returns how many. */
    promoteDue: (nowMs: number, limit = 1000) => promote([keys.retry, keys.queue], Math.round(nowMs), limit),

    /** Returns true when this consumer was registered already (false: first beat, or reaped). */
    async heartbeat (consumerId: string, nowMs: number): Promise<boolean> {
      return await heartbeat([keys.consumers], consumerId, Math.round(nowMs)) === 1
    },

    /**
     * Gives the in-flight entries of every consumer silent since before `nowMs - visibilityMs`
     * back to the queue, and of processing lists nobody owns. Returns the entries returned.
     */
    async reapDead (nowMs: number, visibilityMs: number): Promise<number> {
      const cutoff = Math.round(nowMs - visibilityMs)
      const ids = new Set(await redis.zrangebyscore(keys.consumers, '-inf', `(${cutoff}`))
      for (const id of await confirmedOrphans(nowMs, visibilityMs)) ids.add(id)
      let moved = 0
      for (const id of ids) moved += Math.max(0, await reapOne(id, String(cutoff)))
      return moved
    },

    /** This consumer's in-flight entries as Redis has them. */
    processingEntries: (consumerId: string) => redis.lrange(processing(consumerId), 0, -1),

    /** Returns one of this consumer's entries to the queue head. */
    async requeue (consumerId: string, entry: string): Promise<boolean> {
      return await requeue([processing(consumerId), keys.queue], entry) === 1
    },

    /** At a clean shutdown: returns this consumer's unstarted entries to the queue at once. */
    release: (consumerId: string) => reapOne(consumerId, '+inf'),

    async depths (): Promise<QueueDepths> {
      const ids = await redis.zrange(keys.consumers, 0, -1)
      const pipeline = redis.pipeline().llen(keys.queue).zcard(keys.retry).llen(keys.deadLetter)
      for (const id of ids) pipeline.llen(processing(id))
      const counts = ((await pipeline.exec()) ?? []).map(([, n]) => Number(n ?? 0))
      const [queue = 0, retry = 0, dead = 0, ...inFlight] = counts
      return { queue, retry, deadLetter: dead, processing: inFlight.reduce((a, b) => a + b, 0) }
    }
  }

  function reapOne (id: string, cutoff: string): Promise<number> {
    return reap([keys.consumers, processing(id), keys.queue], id, cutoff)
  }

  // A processing list whose consumer is not registered (its heartbeat entry was lost, for
  // example in a failover) would otherwise never be returned. It is reaped only when it is
  // still unowned a visibility timeout after it was first seen so: a live consumer that was
  // reaped after a stall registers again with its next heartbeat, well within that time.
  async function confirmedOrphans (nowMs: number, visibilityMs: number): Promise<string[]> {
    const orphans = new Set(await orphanIds())
    for (const id of suspects.keys()) if (!orphans.has(id)) suspects.delete(id)
    for (const id of orphans) if (!suspects.has(id)) suspects.set(id, nowMs)
    return [...orphans].filter(id => nowMs - (suspects.get(id) ?? nowMs) >= visibilityMs)
  }

  async function orphanIds (): Promise<string[]> {
    const found: string[] = []
    let cursor = '0'
    do {
      const [next, names] = await redis.scan(cursor, 'MATCH', `${keys.processingPrefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 500)
      cursor = next
      found.push(...names.map(n => n.slice(keys.processingPrefix.length)))
    } while (cursor !== '0')
    if (found.length === 0) return []
    const scores = await redis.zmscore(keys.consumers, ...found)
    return found.filter((_, i) => scores[i] === null)
  }
}

export type DeliveryQueue = ReturnType<typeof createDeliveryQueue>
