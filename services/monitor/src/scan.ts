import { randomUUID } from 'node:crypto'
import { isRecent, encodeEvent, type EventType } from '@internal/events'
import { encodeFingerprint, type ObjectVersion } from './fingerprint.ts'
import type { ListedObject } from './lister.ts'
import { buildEvent, headObject, NO_HEAD, type HeadInfo } from './events.ts'
import { compareRange, type KeyRange } from './chunk-state.ts'
import { listRange, type RangePage } from './range-listing.ts'
import { createDeletionStage, type DeletionStage } from './deletions.ts'
import { migrateHashState } from './state-migration.ts'
import { renewStateTtl } from './state-ttl.ts'
import { commit } from './commit.ts'
import type { ScanDeps, ScanTarget, ScanProgress } from './scan-context.ts'

interface Change { obj: ListedObject, fp: string, old: string, type: EventType }

interface PageContext { deps: ScanDeps, target: ScanTarget, progress: ScanProgress, deletions: DeletionStage, push: boolean }

/**
 * Lists the whole bucket once and records every change, deletions included. Per page: one
 * read-only compare script over the key range the page covers; for changed objects
 * HeadObject where the event needs it, then one commit script that writes the state and
 * enqueues the events together. The deletions a page reveals are staged and applied only
 * after the whole listing was seen in byte order (see deletions.ts). Throws on S3 or Redis
 * failure; pages already committed stay committed (a rescan finds nothing new for them).
 */
export async function scanBucket (deps: ScanDeps, target: ScanTarget, progress: ScanProgress): Promise<void> {
  const { redis, keys } = deps
  const name = target.bucket.name
  const [[, scannedBefore], [, hashState]] = await redis.multi()
    .exists(keys.lastScan(name)).exists(keys.objectState(name)).exec() as [[null, number], [null, number]]
  progress.firstScan = scannedBefore === 0
  if (hashState === 1) deps.log.info({ bucket: name, moved: await migrateHashState(deps, target) }, 'object state moved into chunks')
  const push = target.bucket.notifications_enabled && !(progress.firstScan && target.firstScan === 'baseline')
  const ctx: PageContext = { deps, target, progress, deletions: createDeletionStage(deps, target, randomUUID()), push }
  const stopProgressLog = logProgress(deps, target, progress)
  try {
    await scanRange(ctx, {})
    if (!progress.ordered) {
      deps.log.warn({ bucket: name }, 'listing not in key order: deletions not checked this scan')
      return
    }
    await ctx.deletions.apply(progress, push)
    if (progress.missedByListing > 0) deps.log.warn({ bucket: name, missed: progress.missedByListing }, 'listing left out objects that exist: not deleted')
    await renewStateTtl(deps, name)
  } finally {
    stopProgressLog()
    await ctx.deletions.discard().catch(() => {}) // it expires on its own
  }
}

async function scanRange (ctx: PageContext, range: KeyRange): Promise<void> {
  const { deps, target, progress } = ctx
  // Two pages in flight: page n+1 is compared (and its HeadObjects run) while page n's
  // commit is still on its way. Pages hold different keys, so their commits are independent.
  const inFlight: Array<Promise<void>> = []
  const opts = { client: target.client, bucket: target.bucket.name, pageSize: deps.pageSize, region: target.region, signal: target.signal }
  try {
    for await (const page of listRange(opts, range)) {
      progress.pages++
      progress.listed += page.objects.length
      if (!page.ordered) progress.ordered = false
      const current = processPage(ctx, page)
      current.catch(() => {}) // awaited below; this only keeps an early failure from being unhandled
      inFlight.push(current)
      if (inFlight.length === 2) await inFlight.shift()
    }
    await Promise.all(inFlight)
  } catch (err) {
    await Promise.allSettled(inFlight) // nothing may commit after the scan has ended
    throw err
  }
}

async function processPage (ctx: PageContext, page: RangePage): Promise<void> {
  const { deps, target, progress } = ctx
  const objects = page.objects.filter(o => target.filter(o.key))
  const fps = objects.map(o => encodeFingerprint(o))
  const diff = await compareRange(deps, target.bucket.name, page.span, objects, fps)
  progress.known += diff.known
  const stageDeletions = diff.missing.length > 0 && progress.ordered
    ? ctx.deletions.stage(page, diff.missing, progress)
    : Promise.resolve()
  if (diff.changes.length > 0) {
    const nowMs = deps.now()
    const changes: Change[] = diff.changes.map(({ index, old }) => {
      const obj = objects[index]!
      return { obj, fp: fps[index]!, old, type: changeType(obj, old, nowMs) }
    })
    progress.changed += changes.length
    await Promise.all([stageDeletions, commitChanges(ctx, changes, nowMs)])
  } else await stageDeletions
}

function changeType (obj: ObjectVersion, old: string, nowMs: number): EventType {
  if (old !== '') return 'updated'
  return isRecent(obj.lastModifiedMs / 1000, nowMs / 1000) ? 'created' : 'detected'
}

async function commitChanges ({ deps, target, progress, push }: PageContext, changes: Change[], nowMs: number): Promise<void> {
  const heads = push ? await Promise.all(changes.map(c => c.type === 'detected' ? NO_HEAD : headObject(target, c.obj.key))) : []
  const args: string[] = [push ? '1' : '0']
  const applied: Change[] = []
  changes.forEach((c, i) => {
    const head: HeadInfo | undefined = push ? heads[i] : NO_HEAD
    if (!head) return // gone since it was listed: the next scan sees it absent
    const event = push ? encodeEvent(buildEvent(target, c.obj.key, c.obj, c.type, head, nowMs)) : ''
    args.push(c.obj.key, c.old, c.fp, event)
    applied.push(c)
  })
  if (applied.length === 0) return
  await commit(deps, target, progress, args, applied.map(c => c.type))
}

function logProgress (deps: ScanDeps, target: ScanTarget, progress: ScanProgress): () => void {
  const every = deps.progressEveryMs ?? 10_000
  const timer = setInterval(() => {
    deps.log.info({ bucket: target.bucket.name, pages: progress.pages, listed: progress.listed, changed: progress.changed, events: progress.events }, 'scan progress')
  }, every)
  timer.unref()
  return () => clearInterval(timer)
}
