import { randomUUID } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { isRecent, encodeEvent, type EventType } from '@internal/events'
import { encodeFingerprint, type ObjectVersion } from './fingerprint.ts'
import type { ListedObject } from './lister.ts'
import { buildEvent, headObject, NO_HEAD, type HeadInfo } from './events.ts'
import { compareLex, compareRange, highestTrackedKey, outsidePrefixes, type Missing } from './chunk-state.ts'
import { listRange, type RangeCursor, type RangePage } from './range-listing.ts'
import { planRanges, type PlannedRange } from './range-plan.ts'
import { createRangePool, splitRange, SPLIT_AFTER_PAGES, type RangePool } from './range-pool.ts'
import { literalPrefixes } from './patterns.ts'
import { createDeletionStage, type DeletionStage } from './deletions.ts'
import { migrateHashState } from './state-migration.ts'
import { renewStateTtl } from './state-ttl.ts'
import { buildsEvents, commit } from './commit.ts'
import type { ScanDeps, ScanTarget, ScanProgress } from './scan-context.ts'

interface Change { obj: ListedObject, fp: string, old: string, type: EventType }

interface PageContext { deps: ScanDeps, target: ScanTarget, progress: ScanProgress, deletions: DeletionStage, push: boolean }

/**
 * Lists the bucket (or its watched prefixes) once, as key ranges listed concurrently, and
 * records every change, deletions included. Per page: one read-only compare script over the
 * key range the page covers; for changed objects HeadObject where the event needs it, then
 * one commit script that writes the state and enqueues the events together. The deletions
 * a page reveals are staged and applied only after the whole listing was seen in byte order
 * (see deletions.ts). Throws on S3 or Redis failure; pages already committed stay committed
 * (a rescan finds nothing new for them).
 */
export async function scanBucket (deps: ScanDeps, target: ScanTarget, progress: ScanProgress): Promise<void> {
  const { redis, keys } = deps
  const name = target.bucket.name
  const [[, scannedBefore], [, hashState], [, disabled], [, idEpoch]] = await redis.multi()
    .exists(keys.lastScan(name)).exists(keys.objectState(name)).get(keys.notificationsDisabled(name)).hget(keys.stateMeta(name), 'id_epoch')
    .exec() as [[null, number], [null, number], [null, string | null], [null, string | null]]
  progress.firstScan = scannedBefore === 0
  // The switch as Redis holds it, not as this replica's registry last heard it.
  progress.notificationsOn = disabled !== 'true'
  if (hashState === 1) deps.log.info({ bucket: name, moved: await migrateHashState(deps, target) }, 'object state moved into chunks')
  const push = buildsEvents(target, progress)
  // One range failing stops the others at once: the scan has failed and deletes nothing.
  const failed = new AbortController()
  const signal = AbortSignal.any([target.signal, failed.signal])
  setMaxListeners(0, signal) // each S3 request in flight listens on it
  // Event ids of a state forgotten by a resync are of its new epoch (see resyncBucket.lua).
  const scanTarget = { ...target, signal, ...(idEpoch && { idEpoch }) }
  const ctx: PageContext = { deps, target: scanTarget, progress, deletions: createDeletionStage(deps, scanTarget, randomUUID()), push }
  const stopProgressLog = logProgress(deps, target, progress)
  try {
    const prefixes = literalPrefixes(target.bucket.include)
    await scanRanges(ctx, await plan(deps, scanTarget, prefixes), failed)
    if (prefixes) await dropOutside(ctx, prefixes)
    await renewStateTtl(deps, name)
    if (!progress.ordered) {
      deps.log.warn({ bucket: name }, 'listing not in key order: deletions not checked this scan')
      return
    }
    await ctx.deletions.apply(progress, push)
    if (progress.missedByListing > 0) deps.log.warn({ bucket: name, missed: progress.missedByListing }, 'listing left out objects that exist: not deleted')
  } finally {
    stopProgressLog()
    await ctx.deletions.discard().catch(() => {}) // it expires on its own
  }
}

/** Deletions are the full scan's: a fast-lane listing stages none. */
const NO_DELETIONS: DeletionStage = { stage: async () => {}, apply: async () => {}, discard: async () => {} }

/**
 * The fast lane: lists only the keys after the highest one the state tracks (in each watched
 * prefix), so new objects with ordered keys (timestamps, sequence numbers) are announced
 * between full scans. Every change goes through the same compare-and-set commit as a full
 * scan's, so the next full scan finds these objects recorded and announces nothing twice.
 */
export async function scanNewKeys (deps: ScanDeps, target: ScanTarget, progress: ScanProgress): Promise<void> {
  const name = target.bucket.name
  const [highest, disabled, scanned] = await Promise.all([
    highestTrackedKey(deps, name), deps.redis.get(deps.keys.notificationsDisabled(name)), deps.redis.exists(deps.keys.lastScan(name))
  ])
  // Before the first full scan there is no state to follow: that scan decides what a first sight announces.
  if (scanned === 0) return
  progress.notificationsOn = disabled !== 'true'
  const failed = new AbortController()
  const signal = AbortSignal.any([target.signal, failed.signal])
  setMaxListeners(0, signal)
  const scanTarget = { ...target, signal }
  const ctx: PageContext = { deps, target: scanTarget, progress, deletions: NO_DELETIONS, push: buildsEvents(target, progress) }
  const prefixes = literalPrefixes(target.bucket.include) ?? [undefined]
  await scanRanges(ctx, prefixes.map(prefix => ({ after: highest, prefix, splittable: true })), failed)
}

// Only the watched prefixes are listed, when the include patterns allow it; deletions are
// then looked for inside them only, as the compare spans carry the prefix.
async function plan (deps: ScanDeps, target: ScanTarget, prefixes: string[] | undefined): Promise<PlannedRange[]> {
  const scopes = prefixes ?? [undefined]
  return (await Promise.all(scopes.map(prefix => planRanges(deps, target, prefix)))).flat()
}

/**
 * Lists the ranges concurrently, as many at once as the region has S3 slots; each range's
 * pages are checked for order on their own. Memory holds the pages in flight only: two per
 * range being listed (one arriving, one being compared and committed; three for a range
 * listed alone).
 */
async function scanRanges (ctx: PageContext, ranges: PlannedRange[], failed: AbortController): Promise<void> {
  const { progress } = ctx
  const counts = (done: number, total: number) => { progress.rangesDone = done; progress.rangesTotal = total }
  const pool = createRangePool(Math.max(1, ctx.target.region.limit), (range, p) => scanRange(ctx, range, p), failed, counts)
  try {
    await pool.run(ranges)
  } finally {
    ctx.progress.ranges = pool.started
  }
}

async function scanRange (ctx: PageContext, range: PlannedRange, pool: RangePool): Promise<void> {
  const { deps, target, progress } = ctx
  // Alone, a range keeps two pages in flight: page n+1 is compared (and its HeadObjects run)
  // while page n's commit is still on its way (pages hold different keys, so their commits
  // are independent). Among others, one each: the other ranges keep the slots busy, and
  // memory holds fewer pages.
  const inFlight: Array<Promise<void>> = []
  const cursor: RangeCursor = { position: undefined, done: false }
  let split: Promise<void> = Promise.resolve()
  let pages = 0
  try {
    for await (const page of listRange(target, deps.pageSize, range, cursor)) {
      progress.pages++
      progress.listed += page.objects.length
      if (!page.ordered) progress.ordered = false
      if (++pages === SPLIT_AFTER_PAGES && range.splittable && !cursor.done) {
        split = splitRange(target, range, cursor, pool)
        split.catch(() => {}) // awaited below
      }
      const current = processPage(ctx, page)
      current.catch(() => {}) // awaited below; this only keeps an early failure from being unhandled
      inFlight.push(current)
      if (inFlight.length >= (pool.started > 1 ? 1 : 2)) await inFlight.shift()
    }
    await Promise.all([...inFlight, split])
  } catch (err) {
    await Promise.allSettled([...inFlight, split]) // nothing may commit after the scan has ended
    throw err
  }
}

async function processPage (ctx: PageContext, page: RangePage): Promise<void> {
  const { deps, target, progress } = ctx
  const objects = page.objects.filter(o => target.filter(o.key))
  const fps = objects.map(o => encodeFingerprint(o))
  const diff = await compareRange(deps, target.bucket.name, page.span, objects, fps, missing => stageMissing(ctx, page, missing))
  progress.known += diff.known
  if (diff.changes.length === 0) return
  const nowMs = deps.now()
  const changes: Change[] = diff.changes.map(({ index, old }) => {
    const obj = objects[index]!
    return { obj, fp: fps[index]!, old, type: changeType(obj, old, nowMs) }
  })
  progress.changed += changes.length
  await commitChanges(ctx, changes, nowMs)
}

// Once the listing is known to be out of order, its deletions will not be applied anyway.
async function stageMissing (ctx: PageContext, page: RangePage, missing: Missing[]): Promise<void> {
  if (ctx.progress.ordered) await ctx.deletions.stage(page, missing, ctx.progress)
}

// State outside the watched prefixes is of keys no include pattern matches any more (the
// patterns were narrowed): dropped without a listing and without events, as unwatched.
async function dropOutside (ctx: PageContext, prefixes: string[]): Promise<void> {
  const unlisted: RangePage = { objects: [], span: {}, ordered: true, whole: false }
  for (const span of outsidePrefixes(prefixes)) {
    await compareLex(ctx.deps, ctx.target.bucket.name, span, [], [], missing => stageMissing(ctx, unlisted, missing))
  }
}

function changeType (obj: ObjectVersion, old: string, nowMs: number): EventType {
  if (old !== '') return 'updated'
  return isRecent(obj.lastModifiedMs / 1000, nowMs / 1000) ? 'created' : 'detected'
}

async function commitChanges ({ deps, target, progress, push }: PageContext, changes: Change[], nowMs: number): Promise<void> {
  const heads = push ? await Promise.all(changes.map(c => c.type === 'detected' ? NO_HEAD : headObject(target, c.obj.key))) : []
  const args: string[] = []
  const applied: Change[] = []
  changes.forEach((c, i) => {
    const head: HeadInfo | undefined = push ? heads[i] : NO_HEAD
    if (!head) return // gone since it was listed: the next scan sees it absent
    if (heldBack(deps, target, c, head)) return // its state is left as it was, so the next scan tries again
    const event = push ? encodeEvent(buildEvent(target, c.obj.key, c.obj, c.type, head, nowMs)) : ''
    args.push(c.obj.key, c.old, c.fp, event)
    applied.push(c)
  })
  if (applied.length === 0) return
  await commit(deps, target, progress, args, applied.map(c => c.type))
  if (push) observeLag(deps, target, applied, nowMs)
}

// Only a creation or an update says when the change happened: a `detected` object was there
// before the bucket was watched, and a deletion carries the object's old last_modified.
function observeLag (deps: ScanDeps, target: ScanTarget, applied: Change[], nowMs: number): void {
  if (!deps.onDetectionLag) return
  for (const c of applied) {
    if (c.type === 'created' || c.type === 'updated') deps.onDetectionLag(target.bucket.name, Math.max(0, nowMs - c.obj.lastModifiedMs) / 1000)
  }
}

// A failing HeadObject holds back its own object only, and only for its first few scans.
function heldBack (deps: ScanDeps, target: ScanTarget, change: Change, head: HeadInfo): boolean {
  if (head.error === undefined || !deps.headFailures) return false
  return !deps.headFailures.failed(target.bucket.name, change.obj.key, change.fp)
}

function logProgress (deps: ScanDeps, target: ScanTarget, progress: ScanProgress): () => void {
  const every = deps.progressEveryMs ?? 10_000
  const timer = setInterval(() => {
    deps.log.info({ bucket: target.bucket.name, pages: progress.pages, listed: progress.listed, changed: progress.changed, events: progress.events }, 'scan progress')
  }, every)
  timer.unref()
  return () => clearInterval(timer)
}
