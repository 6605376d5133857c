import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { defineScript } from './scripts.ts'
import { checkDeadline } from './deadline.ts'
import type { Keys } from './keys.ts'

/** One dead-lettered delivery, as stored (JSON) at the head of the dead-letter list. */
export interface DeadLetterRecord {
  id: string
  reason: string
  attempts: number
  last_status: number | null
  response_excerpt: string | null
  dead_at: string
  /** The subscription the delivery was for (a replay goes back to it only). */
  subscription?: string
  /** The event as it was queued, when the entry was valid JSON. */
  event?: Record<string, unknown>
  /** The entry as it was, when it was not JSON. */
  raw?: string
}

export type DeadLetterInput = Omit<DeadLetterRecord, 'id' | 'dead_at' | 'event' | 'raw' | 'subscription'>

/** Builds a record from the entry as claimed: the event when it parses, else the raw text. */
export function deadLetterRecord (entry: string, fields: DeadLetterInput, now: Date, id: string = randomUUID()): DeadLetterRecord {
  const parsed = parseObject(entry)
  const subscription = typeof parsed?.subscription === 'string' ? { subscription: parsed.subscription } : {}
  return { id, ...fields, dead_at: now.toISOString(), ...subscription, ...(parsed ? { event: parsed } : { raw: entry }) }
}

function parseObject (text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

/** The entry a replay enqueues: the event with its delivery history reset. */
function replayEntry (record: DeadLetterRecord): string {
  if (!record.event) return record.raw ?? ''
  const { request_id: _requestId, retry_count: _retryCount, ...event } = record.event
  return JSON.stringify({ ...event, retry_count: 0 })
}

/**
 * Operator functions over the dead-letter list (newest first): list, replay, purge. Each
 * record moves or disappears in one atomic step, so two operators never replay one twice.
 */
export function createDeadLetters (redis: Redis, keys: Keys, { deadline }: { deadline?: () => number } = {}) {
  const replayScript = defineScript<[string, string, string], number>(redis, 'wfReplayDead', new URL('../lua/replayDead.lua', import.meta.url), 2)
  const purgeScript = defineScript<[string, string], number>(redis, 'wfPurgeDead', new URL('../lua/purgeDead.lua', import.meta.url), 1)
  // With a deadline (the API's), Redis refuses a change that reaches it after the caller gave up.
  const until = () => deadline === undefined ? '' : String(deadline())
  const replayOne = async (raw: string, entry: string) => checkDeadline(await replayScript([keys.deadLetter, keys.queue], raw, entry, until()))
  const purgeOne = async (raw: string) => checkDeadline(await purgeScript([keys.deadLetter], raw, until()))

  async function entries (): Promise<Array<{ raw: string, record: DeadLetterRecord }>> {
    const raws = await redis.lrange(keys.deadLetter, 0, -1)
    return raws.flatMap(raw => {
      const record = parseObject(raw) as DeadLetterRecord | undefined
      return record && typeof record.id === 'string' ? [{ raw, record }] : []
    })
  }

  async function replayMatching (match: (r: DeadLetterRecord) => boolean): Promise<number> {
    let replayed = 0
    for (const { raw, record } of (await entries()).reverse()) { // oldest first keeps their order
      if (match(record)) replayed += await replayOne(raw, replayEntry(record))
    }
    return replayed
  }

  return {
    /** A page of records, newest first, with the total count. */
    async list (offset = 0, limit = 50): Promise<{ total: number, items: DeadLetterRecord[] }> {
      const [[, total], [, raws]] = await redis.multi().llen(keys.deadLetter).lrange(keys.deadLetter, offset, offset + limit - 1).exec() as [[null, number], [null, string[]]]
      return { total, items: raws.map(raw => parseObject(raw) as DeadLetterRecord | undefined ?? brokenRecord(raw)) }
    },
    /** Puts the records with these ids back on the queue; returns how many moved. */
    replay: (ids: string[]) => { const wanted = new Set(ids); return replayMatching(r => wanted.has(r.id)) },
    replayAll: () => replayMatching(() => true),
    /** Deletes the records with these ids, or every record; returns how many went. */
    async purge (ids?: string[]): Promise<number> {
      if (ids === undefined) return await purgeOne('')
      const wanted = new Set(ids)
      let purged = 0
      for (const { raw, record } of await entries()) if (wanted.has(record.id)) purged += await purgeOne(raw)
      return purged
    }
  }
}

function brokenRecord (raw: string): DeadLetterRecord {
  return { id: '', reason: 'unreadable dead-letter record', attempts: 0, last_status: null, response_excerpt: null, dead_at: '', raw }
}

export type DeadLetters = ReturnType<typeof createDeadLetters>
