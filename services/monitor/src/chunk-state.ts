import type { ScanDeps } from './scan-context.ts'
import type { ListedObject } from './lister.ts'
import { keyBefore } from './listing-order.ts'

/**
 * Redis keeps a hash listpack-encoded (about 60 bytes per small entry instead of about 110)
 * up to hash-max-listpack-entries, 128 by default; chunks are held at that size.
 */
export const CHUNK_MAX_ENTRIES = 128
/** A compare call reads at most this many chunks (8,192 entries), so a reply stays small. */
const COMPARE_MAX_CHUNKS = 64

/**
 * Keys after `after` (exclusive; or from `from`, inclusive; neither = from the first key) up
 * to `through` (inclusive; none = to the last key), starting with `prefix` when given.
 */
export interface KeyRange { after?: string, from?: string, through?: string, prefix?: string }

export interface RangeDiff {
  /** Listed objects that had a state already. */
  known: number
  /** Listed objects whose state differs: their index and stored fingerprint ('' = none). */
  changes: Array<{ index: number, old: string }>
}

export interface Missing { key: string, fp: string }

/** Takes the tracked keys of a range the listing did not show, a batch at a time (memory stays bounded). */
export type OnMissing = (missing: Missing[]) => Promise<void>

/** The Redis keys of one bucket's chunked state. */
export function stateKeys (deps: Pick<ScanDeps, 'keys'>, bucket: string) {
  return { index: deps.keys.stateIndex(bucket), meta: deps.keys.stateMeta(bucket), chunkPrefix: deps.keys.stateChunkPrefix(bucket) }
}

/** A bound in ZRANGEBYLEX syntax (`-`, `+`, `(key`, `[key`); bytes when it need not be UTF-8. */
export type LexBound = string | Buffer

/** Diffs the listed objects of one key range (ascending, all inside it) with the stored state. */
export async function compareRange (deps: ScanDeps, bucket: string, range: KeyRange, objects: ListedObject[], fps: string[], onMissing: OnMissing): Promise<RangeDiff> {
  const to = range.through === undefined ? '+' : `[${range.through}`
  const from = range.after !== undefined ? `(${range.after}` : range.from !== undefined ? `[${range.from}` : '-'
  return await compareLex(deps, bucket, { from, to, prefix: range.prefix }, objects, fps, onMissing)
}

/** compareRange between any two lex bounds. */
export async function compareLex (deps: ScanDeps, bucket: string, span: { from: LexBound, to: LexBound, prefix?: string }, objects: ListedObject[], fps: string[], onMissing: OnMissing): Promise<RangeDiff> {
  const { index, chunkPrefix } = stateKeys(deps, bucket)
  const diff: RangeDiff = { known: 0, changes: [] }
  const to = span.to
  let from = span.from
  let offset = 0
  while (true) {
    const reply = await deps.scripts.compareRange([index], chunkPrefix, from, to, span.prefix ?? '', String(COMPARE_MAX_CHUNKS), ...listedArgs(objects, fps, offset))
    const [known, handled, resume, changed] = [Number(reply[0]), Number(reply[1]), String(reply[2]), Number(reply[3])]
    diff.known += known
    let j = 4
    for (; j < 4 + 2 * changed; j += 2) diff.changes.push({ index: offset + Number(reply[j]), old: String(reply[j + 1]) })
    const missing: Missing[] = []
    for (; j < reply.length; j += 2) missing.push({ key: String(reply[j]), fp: String(reply[j + 1]) })
    if (missing.length > 0) await onMissing(missing)
    offset += handled
    if (resume === '') return diff
    from = `[${resume}`
  }
}

// One NUL-separated argument when no key holds a NUL (S3 listings cannot carry one in XML),
// else key/fingerprint pairs: one large argument costs the client far less to encode.
function listedArgs (objects: ListedObject[], fps: string[], offset: number): string[] {
  const parts: string[] = []
  let nul = false
  for (let i = offset; i < objects.length; i++) {
    const key = objects[i]!.key
    if (key.includes('\0')) nul = true
    parts.push(key, fps[i]!)
  }
  if (parts.length === 0) return []
  return nul ? parts : [parts.join('\0') + '\0']
}

/** The least byte string above every key starting with `prefix`; undefined when there is none. */
export function prefixEnd (prefix: string): Buffer | undefined {
  const bytes = Buffer.from(prefix)
  let end = bytes.length
  while (end > 0 && bytes[end - 1] === 0xff) end--
  if (end === 0) return undefined
  const stop = Buffer.from(bytes.subarray(0, end))
  stop[end - 1]!++
  return stop
}

/** The spans of key space outside every one of these prefixes (ascending, none inside another). */
export function outsidePrefixes (prefixes: string[]): Array<{ from: LexBound, to: LexBound }> {
  const spans: Array<{ from: LexBound, to: LexBound }> = []
  let from: LexBound = '-'
  for (const prefix of prefixes) {
    spans.push({ from, to: `(${prefix}` })
    const end = prefixEnd(prefix)
    if (!end) return spans
    from = Buffer.concat([Buffer.from('['), end])
  }
  spans.push({ from, to: '+' })
  return spans
}

/**
 * The highest key the state tracks (in byte order), or undefined when it tracks none: the
 * largest key of the chunk with the highest lower bound (chunks hold at most
 * CHUNK_MAX_ENTRIES keys, so this reads one small hash).
 */
export async function highestTrackedKey (deps: Pick<ScanDeps, 'redis' | 'keys'>, bucket: string): Promise<string | undefined> {
  const { index, chunkPrefix } = stateKeys(deps, bucket)
  const [lower] = await deps.redis.zrevrangebylex(index, '+', '-', 'LIMIT', 0, 1)
  if (lower === undefined) return undefined
  const keys = await deps.redis.hkeys(chunkPrefix + lower)
  return keys.reduce<string | undefined>((high, key) => high === undefined || keyBefore(high, key) ? key : high, undefined)
}
