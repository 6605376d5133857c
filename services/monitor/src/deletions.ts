import { encodeEvent } from '@internal/events'
import { decodeFingerprint } from './fingerprint.ts'
import { buildEvent, headObject, NO_HEAD } from './events.ts'
import { keyBefore } from './listing-order.ts'
import { commit } from './commit.ts'
import type { RangePage } from './range-listing.ts'
import type { Missing } from './chunk-state.ts'
import type { ScanDeps, ScanTarget, ScanProgress } from './scan-context.ts'

const STAGED_TTL_SEC = 3600
const APPLY_BATCH = 500

/**
 * The deletions one scan finds, page by page, in the same pass as its other changes.
 *
 * A page shows which tracked keys of its span are gone, but a listing that fails or breaks
 * key order later must delete nothing at all, in any range. So the deletions are not
 * committed per page: they are staged in a Redis list private to this scan (a write per
 * deleted object only, none per unchanged one, and no process memory whatever their number)
 * and applied once the whole listing has been seen in order: compare-and-set against the
 * fingerprint the page saw, with their events, like every other change. A scan that fails,
 * crashes or is abandoned leaves its list to expire; the next scan finds the same deletions.
 *
 * Some servers drop keys from a listing that still looks sorted, where they continue it
 * from a continuation token (s3rver: the keys dropped can sort anywhere around the page
 * boundary). A key missing between two keys of the same page is trusted, and so is every
 * key missing from a range listed in one page (no continuation, so an emptied bucket costs
 * no HeadObject per object); one missing at a page's edge in a longer listing is confirmed
 * absent with a HeadObject first. A tracked key the patterns now exclude is dropped
 * without an event.
 */
export function createDeletionStage (deps: ScanDeps, target: ScanTarget, scanId: string) {
  const listKey = deps.keys.scanDeleted(target.bucket.name, scanId)
  let staged = 0

  async function stage (page: RangePage, missing: Missing[], progress: ScanProgress): Promise<void> {
    const watched = missing.map(m => target.filter(m.key))
    const heads = await Promise.all(missing.map((m, i) => watched[i] && !page.whole && !isInterior(page, m.key)
      ? headObject(target, m.key)
      : undefined))
    const entries: string[] = []
    missing.forEach((m, i) => {
      if (heads[i]?.error !== undefined) return // not known to be gone: the next scan asks again
      if (heads[i]) {
        progress.missedByListing++
        return
      }
      entries.push(m.key, (watched[i] ? 'w' : 'u') + m.fp)
    })
    if (entries.length === 0) return
    await deps.redis.multi().rpush(listKey, ...entries).expire(listKey, STAGED_TTL_SEC).exec()
    staged += entries.length / 2
  }

  async function apply (progress: ScanProgress, push: boolean): Promise<void> {
    if (staged === 0) return
    progress.deletionPass = true
    for (let start = 0; ; start += 2 * APPLY_BATCH) {
      target.signal.throwIfAborted()
      const entries = await deps.redis.lrange(listKey, start, start + 2 * APPLY_BATCH - 1)
      if (entries.length === 0) return
      await commitDeletions(deps, target, progress, entries, push)
    }
  }

  return { stage, apply, discard: async () => { if (staged > 0) await deps.redis.del(listKey) } }
}

export type DeletionStage = ReturnType<typeof createDeletionStage>

function isInterior (page: RangePage, key: string): boolean {
  const first = page.objects[0]?.key
  const last = page.objects.at(-1)?.key
  return first !== undefined && last !== undefined && keyBefore(first, key) && keyBefore(key, last)
}

async function commitDeletions (deps: ScanDeps, target: ScanTarget, progress: ScanProgress, entries: string[], push: boolean): Promise<void> {
  const nowMs = deps.now()
  const args: string[] = []
  const types: Array<'deleted' | undefined> = []
  for (let i = 0; i < entries.length; i += 2) {
    const key = entries[i]!
    const watched = entries[i + 1]!.startsWith('w')
    const fp = entries[i + 1]!.slice(1)
    const event = push && watched ? encodeEvent(buildEvent(target, key, decodeFingerprint(fp), 'deleted', NO_HEAD, nowMs)) : ''
    args.push(key, fp, '', event)
    types.push(watched ? 'deleted' : undefined)
  }
  await commit(deps, target, progress, args, types)
}
