import { encodeEvent } from '@internal/events'
import { decodeFingerprint } from './fingerprint.ts'
import { listPages } from './lister.ts'
import { buildEvent, headObject, NO_HEAD } from './events.ts'
import { createOrderCheck } from './listing-order.ts'
import { commit } from './commit.ts'
import type { ScanDeps, ScanTarget, ScanProgress } from './scan-context.ts'

const SEEN_TTL_SEC = 3600
const SWEEP_CHUNK = 500

/**
 * Finds the objects that are in the state but no longer in the bucket. A second, keys-only
 * listing fills a set in Redis; then the state hash is walked in chunks and every entry not
 * in the set is removed with a `deleted` event (compare-and-set, like every other change).
 * An entry whose key the patterns now exclude is dropped without an event. If this listing
 * fails or is out of order, nothing is deleted. And because some servers drop keys from a
 * listing that still looks sorted (s3rver at page boundaries), every object about to be
 * announced as deleted is confirmed absent with a HeadObject first.
 */
export async function deletionPass (deps: ScanDeps, target: ScanTarget, progress: ScanProgress, push: boolean): Promise<void> {
  const name = target.bucket.name
  const seenKey = deps.keys.scanSeen(name)
  await deps.redis.del(seenKey)
  try {
    if (!await recordListing(deps, target, seenKey)) {
      progress.ordered = false
      deps.log.warn({ bucket: name }, 'deletion pass listing not in key order: nothing deleted')
      return
    }
    await sweep(deps, target, progress, seenKey, push)
  } finally {
    await deps.redis.del(seenKey)
  }
}

async function recordListing (deps: ScanDeps, target: ScanTarget, seenKey: string): Promise<boolean> {
  const order = createOrderCheck()
  for await (const page of listPages(target, deps.pageSize)) {
    if (!order.accept(page)) return false
    const watched = page.filter(o => target.filter(o.key)).map(o => o.key)
    if (watched.length > 0) await deps.redis.multi().sadd(seenKey, watched).expire(seenKey, SEEN_TTL_SEC).exec()
  }
  return true
}

async function sweep (deps: ScanDeps, target: ScanTarget, progress: ScanProgress, seenKey: string, push: boolean): Promise<void> {
  const stateKey = deps.keys.objectState(target.bucket.name)
  let cursor = '0'
  do {
    target.signal.throwIfAborted()
    const [next, ...entries] = await deps.scripts.sweep([stateKey, seenKey], cursor, SWEEP_CHUNK)
    cursor = next ?? '0'
    if (entries.length > 0) await removeEntries(deps, target, progress, entries, push)
  } while (cursor !== '0')
}

async function removeEntries (deps: ScanDeps, target: ScanTarget, progress: ScanProgress, entries: string[], push: boolean): Promise<void> {
  const nowMs = deps.now()
  const candidates: Array<{ key: string, fp: string, watched: boolean }> = []
  for (let i = 0; i < entries.length; i += 2) candidates.push({ key: entries[i]!, fp: entries[i + 1]!, watched: target.filter(entries[i]!) })
  const heads = await Promise.all(candidates.map(c => c.watched ? headObject(target, c.key) : undefined))
  const args: string[] = []
  const types: Array<'deleted' | undefined> = []
  candidates.forEach((c, i) => {
    if (heads[i]?.error !== undefined) return // not known to be gone: the next scan asks again
    if (heads[i]) { progress.missedByListing++; return }
    const event = push && c.watched ? encodeEvent(buildEvent(target, c.key, decodeFingerprint(c.fp), 'deleted', NO_HEAD, nowMs)) : ''
    args.push(c.key, c.fp, '', event)
    types.push(c.watched ? 'deleted' : undefined)
  })
  if (types.length > 0) await commit(deps, target, progress, args, types)
}
