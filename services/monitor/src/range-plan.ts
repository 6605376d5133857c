import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import { prefixEnd, stateKeys, type KeyRange } from './chunk-state.ts'
import { s3Request } from './s3-request.ts'
import type { ScanDeps, ScanTarget } from './scan-context.ts'

/** Ranges per region slot: enough that a slow range does not leave slots idle. */
const RANGES_PER_SLOT = 4
/** A range is worth listing on its own from about this many pages (each range ends with a partial page). */
const PAGES_PER_RANGE = 10
const PROBE_DEPTH = 3

/** A range to list; `splittable` when no stored state told where to split its scope. */
export type PlannedRange = KeyRange & { splittable?: boolean }

/** How many ranges a scan lists at most: a few per S3 slot of the region. */
export const mostRanges = (target: Pick<ScanTarget, 'region'>) => Math.max(1, target.region.limit * RANGES_PER_SLOT)

/**
 * Splits one scope (the whole bucket, or one watched prefix) into key ranges listed
 * concurrently. The bounds are chunk lower bounds of the stored state, so ranges follow
 * the previous scan's key distribution. A scope with too little state to split (a first
 * scan, a bucket that was small) is one splittable range: once its listing proves long, a
 * delimiter listing from where it got to splits the rest (probeBounds). Any bounds are
 * correct: a range that grew, shrank or emptied since is still listed whole, only slower.
 */
export async function planRanges (deps: ScanDeps, target: ScanTarget, prefix: string | undefined): Promise<PlannedRange[]> {
  const bounds = await chunkBounds(deps, target.bucket.name, prefix, mostRanges(target))
  if (bounds.length === 0) return [{ prefix, splittable: true }]
  const ranges: PlannedRange[] = []
  let after: string | undefined
  for (const bound of bounds) {
    ranges.push({ after, through: bound, prefix })
    after = bound
  }
  ranges.push({ after, prefix })
  return ranges
}

// Evenly spaced chunk lower bounds inside the scope, by rank: a few reads whatever the size.
async function chunkBounds (deps: ScanDeps, bucket: string, prefix: string | undefined, most: number): Promise<string[]> {
  const { index, meta } = stateKeys(deps, bucket)
  const scope = deps.redis.multi().zcard(index).hget(meta, 'objects')
  if (prefix !== undefined) scope.zlexcount(index, '-', `(${prefix}`).zlexcount(index, `[${prefix}`, lexEnd(prefix))
  const counts = (await scope.exec() as Array<[null, number | string | null]>).map(([, n]) => Number(n ?? 0))
  const [total = 0, objects = 0, before = 0, inside = total] = counts
  const [first, count] = prefix === undefined ? [0, total] : [before, inside]
  const perChunk = total > 0 ? objects / total : 0
  const chunksPerRange = Math.ceil(PAGES_PER_RANGE * deps.pageSize / Math.max(1, perChunk))
  const ranges = Math.min(most, Math.floor(count / chunksPerRange))
  if (ranges < 2) return []
  const pipeline = deps.redis.pipeline()
  for (let j = 1; j < ranges; j++) {
    const rank = first + Math.floor(j * count / ranges)
    pipeline.zrange(index, rank, rank)
  }
  const replies = await pipeline.exec() as Array<[Error | null, string[]]>
  return [...new Set(replies.map(([, r]) => r[0]).filter((b): b is string => b !== undefined && b !== ''))]
}

// The keys starting with a prefix end before its byte successor (bytes: it need not be UTF-8).
function lexEnd (prefix: string): Buffer | string {
  const end = prefixEnd(prefix)
  return end ? Buffer.concat([Buffer.from('('), end]) : '+'
}

/**
 * Split points after `startAfter` inside a scope: the common prefixes of a delimiter listing
 * (among its first entries; a flat bucket's keys come back too), one level down while there
 * is only one; at most `most - 1` of them.
 */
export async function probeBounds (target: ScanTarget, prefix: string | undefined, startAfter: string | undefined, most: number): Promise<string[]> {
  let scope = prefix ?? ''
  for (let depth = 0; depth < PROBE_DEPTH; depth++) {
    const page = await s3Request(target, 'list', abortSignal => target.client.send(
      new ListObjectsV2Command({ Bucket: target.bucket.name, Delimiter: '/', Prefix: scope || undefined, StartAfter: startAfter, MaxKeys: Math.min(1000, 4 * most) }),
      { abortSignal }
    ))
    const prefixes = (page.CommonPrefixes ?? []).map(p => p.Prefix).filter((p): p is string => p !== undefined)
    if (prefixes.length === 1 && (page.Contents ?? []).length === 0) { scope = prefixes[0]!; continue }
    const step = Math.max(1, Math.ceil(prefixes.length / most))
    return prefixes.filter((_, i) => i % step === 0)
  }
  return []
}
