import type { ScanDeps } from './scan-context.ts'
import type { ListedObject } from './lister.ts'

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
  /** Tracked keys of the range the listing did not show. */
  missing: Array<{ key: string, fp: string }>
}

/** The Redis keys of one bucket's chunked state. */
export function stateKeys (deps: Pick<ScanDeps, 'keys'>, bucket: string) {
  return { index: deps.keys.stateIndex(bucket), meta: deps.keys.stateMeta(bucket), chunkPrefix: deps.keys.stateChunkPrefix(bucket) }
}

/** Diffs the listed objects of one key range (ascending, all inside it) with the stored state. */
export async function compareRange (deps: ScanDeps, bucket: string, range: KeyRange, objects: ListedObject[], fps: string[]): Promise<RangeDiff> {
  const { index, chunkPrefix } = stateKeys(deps, bucket)
  const diff: RangeDiff = { known: 0, changes: [], missing: [] }
  const to = range.through === undefined ? '+' : `[${range.through}`
  let from = range.after !== undefined ? `(${range.after}` : range.from !== undefined ? `[${range.from}` : '-'
  let offset = 0
  while (true) {
    const reply = await deps.scripts.compareRange([index], chunkPrefix, from, to, range.prefix ?? '', String(COMPARE_MAX_CHUNKS), ...listedArgs(objects, fps, offset))
    const [known, handled, resume, changed] = [Number(reply[0]), Number(reply[1]), String(reply[2]), Number(reply[3])]
    diff.known += known
    let j = 4
    for (; j < 4 + 2 * changed; j += 2) diff.changes.push({ index: offset + Number(reply[j]), old: String(reply[j + 1]) })
    for (; j < reply.length; j += 2) diff.missing.push({ key: String(reply[j]), fp: String(reply[j + 1]) })
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
