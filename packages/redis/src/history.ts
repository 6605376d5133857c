import type { Redis } from 'ioredis'
import { defineScript } from './scripts.ts'
import type { Keys } from './keys.ts'

/** Attempts kept per event and subscription (older ones are dropped first). */
export const HISTORY_ATTEMPTS = 20
/** Events kept in one bucket's index (the oldest are dropped first). */
export const HISTORY_INDEX_MAX = 100_000
/** The longest response excerpt kept per attempt. */
export const EXCERPT_MAX_BYTES = 1024

/** One attempt as the history keeps it. */
export interface HistoryAttempt {
  /** Epoch ms at which the request started. */
  at: number
  status: number | null
  duration_ms: number
  error: string | null
  excerpt: string | null
}

/**
 * One step of an event: its detection (no subscription) or a delivery step for one
 * subscription. A step of a bucket that is not configured (deleted) is not recorded.
 */
export interface HistoryStep {
  /** The event's fields; `event_id`, `bucket` and `detection_time` (epoch seconds) are read. */
  event: Record<string, unknown> & { event_id: string, bucket: string }
  subscription?: string
  state?: string
  attempt?: HistoryAttempt
  next_at?: number
  reason?: string
}

export interface HistoryDelivery {
  subscription: string
  state: string
  next_at?: number
  reason?: string
  attempts: HistoryAttempt[]
}

export interface HistoryRecord {
  event: Record<string, unknown>
  deliveries: HistoryDelivery[]
}

export interface HistoryPageQuery {
  sinceMs?: number
  untilMs?: number
  limit: number
  /** The member the previous page ended at. */
  after?: string
  match?: (record: HistoryRecord) => boolean
}

export interface HistoryPage {
  items: HistoryRecord[]
  /** Where the next page starts; undefined when this one reached the end. */
  next?: string
}

// Index members sort newest first: 13 digits of (10^13 - 1 - detection ms), then the event id.
const SORT_TOP = 9_999_999_999_999
const sortKey = (ms: number) => String(SORT_TOP - Math.max(0, Math.min(SORT_TOP, Math.round(ms)))).padStart(13, '0')
// Index entries examined per page at most, so a filter matching nothing answers in bounded time.
const SCAN_BUDGET = 5000
// Events rewritten per script call when a subscription is deleted (each call holds Redis briefly).
const FORGET_BATCH = 500

/** The history's records of the detection time of an event: epoch seconds in its fields, or now. */
function detectedMs (event: Record<string, unknown>, nowMs: number): number {
  return typeof event.detection_time === 'number' ? event.detection_time * 1000 : nowMs
}

/** Parses an event's stored string back into its fields and deliveries (sorted by subscription). */
export function parseHistory (doc: string): HistoryRecord {
  const cut = doc.indexOf('\n')
  const event = JSON.parse(doc.slice(0, cut)) as Record<string, unknown>
  const text = doc.slice(cut + 1)
  const stored = (text === '' ? {} : JSON.parse(text)) as Record<string, Omit<HistoryDelivery, 'subscription'>>
  const deliveries = Object.keys(stored).sort().map(subscription => {
    const d = stored[subscription]!
    return { ...d, subscription, attempts: Array.isArray(d.attempts) ? d.attempts : [] }
  })
  return { event, deliveries }
}

/**
 * The attempt history: per event its fields and per subscription its state and last attempts,
 * and per bucket an index of its events, newest first; every key expires `ttlMs` after the
 * step that last touched it, counted from the caller's clock.
 */
export function createHistory (redis: Redis, keys: Keys, { ttlMs }: { ttlMs: number }) {
  const record = defineScript<string[], number>(redis, 'wfRecordHistory', new URL('../lua/recordHistory.lua', import.meta.url), 'variadic')
  const forget = defineScript<[string], number>(redis, 'wfForgetHistory', new URL('../lua/forgetHistory.lua', import.meta.url), 'variadic')

  async function fetchSlice (bucket: string, min: string, max: string, count: number): Promise<Array<{ member: string, doc: string | null }>> {
    const members = await redis.zrangebylex(keys.historyBucket(bucket), min, max, 'LIMIT', 0, count)
    if (members.length === 0) return []
    const docs = await redis.mget(members.map(m => keys.historyEvent(m.slice(14))))
    return members.map((member, i) => ({ member, doc: docs[i] ?? null }))
  }

  return {
    /** Records steps in one script call (in order); resolves once Redis holds them. */
    record (steps: HistoryStep[], nowMs: number): Promise<number> {
      const k: string[] = []
      const args = [String(Math.round(nowMs + ttlMs)), sortKey(nowMs - ttlMs), String(HISTORY_INDEX_MAX), String(HISTORY_ATTEMPTS)]
      for (const step of steps) {
        const e = step.event
        k.push(keys.historyEvent(e.event_id), keys.historyBucket(e.bucket), keys.bucketConfig(e.bucket))
        args.push(JSON.stringify(e), `${sortKey(detectedMs(e, nowMs))}:${e.event_id}`, step.subscription ?? '', step.state ?? '',
          step.attempt ? JSON.stringify(step.attempt) : '', step.next_at === undefined ? '' : String(Math.round(step.next_at)), step.reason ?? '')
      }
      return record(k, ...args)
    },

    /** Removes a subscription's deliveries from its bucket's events, a few hundred per script call; returns how many changed. */
    async forgetSubscription (bucket: string, subscription: string): Promise<number> {
      let changed = 0
      for (let start = 0; ; start += FORGET_BATCH) {
        const members = await redis.zrange(keys.historyBucket(bucket), start, start + FORGET_BATCH - 1)
        if (members.length > 0) changed += await forget(members.map(m => keys.historyEvent(m.slice(14))), subscription)
        if (members.length < FORGET_BATCH) return changed
      }
    },

    /** An event and its deliveries; undefined when unknown or expired. */
    async get (eventId: string): Promise<HistoryRecord | undefined> {
      const doc = await redis.get(keys.historyEvent(eventId))
      return doc === null ? undefined : parseHistory(doc)
    },

    /** A page of a bucket's events, newest first, within [sinceMs, untilMs], after the member `after`. */
    async page (bucket: string, q: HistoryPageQuery): Promise<HistoryPage> {
      let min = q.after !== undefined ? `(${q.after}` : q.untilMs !== undefined ? `[${sortKey(q.untilMs)}` : '-'
      const max = q.sinceMs !== undefined ? `(${sortKey(q.sinceMs - 1)}` : '+'
      const items: HistoryRecord[] = []
      const batch = Math.max(q.limit, 100)
      for (let scanned = 0; scanned < SCAN_BUDGET;) {
        const slice = await fetchSlice(bucket, min, max, batch)
        for (const { member, doc } of slice) {
          scanned++
          min = `(${member}`
          if (doc === null) continue // expired before its index entry
          const rec = parseHistory(doc)
          if (q.match && !q.match(rec)) continue
          items.push(rec)
          if (items.length === q.limit) return { items, next: member }
        }
        if (slice.length < batch) return { items }
      }
      return { items, next: min.slice(1) }
    }
  }
}

export type History = ReturnType<typeof createHistory>
