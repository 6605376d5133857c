import { endpointHost, matchesSubscription, type Bucket, type Subscription } from '@internal/buckets'
import { encodeEvent, isRecent, type EventType } from '@internal/events'
import type { Keys, Redis } from '@internal/redis'
import { prefixEnd, stateKeys, type LexBound } from './chunk-state.ts'
import { decodeFingerprint, type ObjectVersion } from './fingerprint.ts'
import { buildEvent, NO_HEAD } from './events.ts'

/** Objects whose last_modified is within [sinceMs, untilMs] and whose key starts with `prefix`. */
export interface ReplaySlice { sinceMs?: number, untilMs?: number, prefix?: string }

export interface RecordedObject { key: string, version: ObjectVersion }

/** Chunks read per round trip: at most 64 x 128 recorded objects in memory at once. */
const CHUNKS_PER_READ = 64
/** Events per push script. */
export const REPLAY_BATCH = 500

/**
 * The recorded objects of a slice of a bucket's chunked state, in key order, one page of
 * chunks at a time; with a prefix only the chunks that can hold it are read. Read-only.
 */
export async function * recordedObjects (redis: Redis, keys: Keys, bucket: string, slice: ReplaySlice): AsyncGenerator<RecordedObject[]> {
  const { index, chunkPrefix } = stateKeys({ keys }, bucket)
  const end = slice.prefix ? prefixEnd(slice.prefix) : undefined
  const to: LexBound = end ? Buffer.concat([Buffer.from('('), end]) : '+'
  let from = slice.prefix ? await chunkHolding(redis, index, slice.prefix) : '-'
  for (;;) {
    const lowers = await redis.zrangebylex(index, from, to, 'LIMIT', 0, CHUNKS_PER_READ)
    if (lowers.length === 0) return
    const pipeline = redis.pipeline()
    for (const lower of lowers) pipeline.hgetall(chunkPrefix + lower)
    const replies = await pipeline.exec() ?? []
    yield replies.flatMap(([err, hash]) => {
      if (err) throw err
      return inSlice(hash as Record<string, string>, slice)
    })
    if (lowers.length < CHUNKS_PER_READ) return
    from = `(${lowers.at(-1)!}`
  }
}

// The chunk whose range holds `key` starts at the greatest lower bound not above it.
async function chunkHolding (redis: Redis, index: string, key: string): Promise<string> {
  const [lower] = await redis.zrevrangebylex(index, `[${key}`, '-', 'LIMIT', 0, 1)
  return lower === undefined ? '-' : `[${lower}`
}

function inSlice (hash: Record<string, string>, { sinceMs = -Infinity, untilMs = Infinity, prefix = '' }: ReplaySlice): RecordedObject[] {
  const found: RecordedObject[] = []
  for (const [key, fp] of Object.entries(hash)) {
    if (!key.startsWith(prefix)) continue
    const version = decodeFingerprint(fp)
    if (version.lastModifiedMs >= sinceMs && version.lastModifiedMs <= untilMs) found.push({ key, version })
  }
  return found.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)))
}

export interface ReplayTarget {
  bucket: Bucket
  /** Only this subscription gets the events (each entry tagged with it), and only those its filters select. */
  subscription?: Subscription
  /** Makes the ids of this replay's events its own. */
  replayId: string
  nowMs: number
}

/**
 * The queue entry that re-announces a recorded object: the event a first sighting would give
 * (`created` within a day of last_modified, else `detected`; content_type and metadata the
 * defaults, as the state records neither), a new event id, `replay: true`, and the chosen
 * subscription's tag. Undefined when the chosen subscription's filters leave the object out.
 */
export function replayEntry (target: ReplayTarget, selector: Subscription | undefined, obj: RecordedObject): string | undefined {
  const type: EventType = isRecent(obj.version.lastModifiedMs / 1000, target.nowMs / 1000) ? 'created' : 'detected'
  if (selector && !matchesSubscription(selector, { event_type: type, key: obj.key })) return undefined
  const source = { bucket: target.bucket, regionName: endpointHost(target.bucket.endpoint), idEpoch: `replay:${target.replayId}` }
  const event = buildEvent(source, obj.key, obj.version, type, NO_HEAD, target.nowMs)
  return encodeEvent({ ...event, replay: true, ...(target.subscription && { subscription: target.subscription.id }) })
}

/**
 * Re-announces every recorded object of the slice through `push` (one call per batch of
 * REPLAY_BATCH entries, so memory holds one page of chunks and one batch) and answers how
 * many were announced. The state is only read.
 */
export async function replaySlice (redis: Redis, keys: Keys, target: ReplayTarget, slice: ReplaySlice, push: (entries: string[]) => Promise<void>): Promise<number> {
  // The chosen subscription selects by its filters even while disabled (its consumer parks them then).
  const selector = target.subscription && { ...target.subscription, enabled: true }
  let batch: string[] = []
  let count = 0
  for await (const objects of recordedObjects(redis, keys, target.bucket.name, slice)) {
    for (const obj of objects) {
      const entry = replayEntry(target, selector, obj)
      if (entry === undefined) continue
      batch.push(entry)
      if (batch.length >= REPLAY_BATCH) { await push(batch); count += batch.length; batch = [] }
    }
  }
  if (batch.length > 0) { await push(batch); count += batch.length }
  return count
}
