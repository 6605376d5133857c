import { isRecent, encodeEvent, type EventType } from '@internal/events'
import { encodeFingerprint, type ObjectVersion } from './fingerprint.ts'
import { listPages, type ListedObject } from './lister.ts'
import { buildEvent, headObject, NO_HEAD, type HeadInfo } from './events.ts'
import { createOrderCheck } from './listing-order.ts'
import { deletionPass } from './deletion.ts'
import { buildsEvents, commit } from './commit.ts'
import type { ScanDeps, ScanTarget, ScanProgress } from './scan-context.ts'

interface Change { obj: ListedObject, fp: string, old: string, type: EventType }

/**
 * Lists the whole bucket and records every change. Per page: one read-only compare script;
 * for changed objects HeadObject where the event needs it, then one commit script that
 * writes the state and enqueues the events together. Deletions are looked for only after a
 * complete listing in byte order. Throws on S3 or Redis failure; pages already committed
 * stay committed (a rescan finds nothing new for them).
 */
export async function scanBucket (deps: ScanDeps, target: ScanTarget, progress: ScanProgress): Promise<void> {
  const { redis, keys } = deps
  const name = target.bucket.name
  const [[, stateSize], [, scannedBefore], [, disabled]] = await redis.multi()
    .hlen(keys.objectState(name)).exists(keys.lastScan(name)).get(keys.notificationsDisabled(name))
    .exec() as [[null, number], [null, number], [null, string | null]]
  progress.firstScan = scannedBefore === 0
  // The switch as Redis holds it, not as this replica's registry last heard it.
  progress.notificationsOn = disabled !== 'true'
  const push = buildsEvents(target, progress)
  const order = createOrderCheck()
  const stopProgressLog = logProgress(deps, target, progress)
  // Two pages in flight: page n+1 is compared (and its HeadObjects run) while page n's
  // commit is still on its way. Pages hold different keys, so their commits are independent.
  const inFlight: Array<Promise<void>> = []
  try {
    for await (const page of listPages(target, deps.pageSize)) {
      progress.pages++
      progress.listed += page.length
      if (!order.accept(page)) progress.ordered = false
      const current = processPage(deps, target, progress, page.filter(o => target.filter(o.key)), push)
      current.catch(() => {}) // awaited below; this only keeps an early failure from being unhandled
      inFlight.push(current)
      if (inFlight.length === 2) await inFlight.shift()
    }
    await Promise.all(inFlight)
  } catch (err) {
    await Promise.allSettled(inFlight) // nothing may commit after the scan has ended
    throw err
  } finally {
    stopProgressLog()
  }
  if (!progress.ordered) {
    deps.log.warn({ bucket: name }, 'listing not in key order: deletions not checked this scan')
    return
  }
  // Every known key was listed once (the order check rules out repeats), so equal counts mean nothing was deleted.
  if (progress.known !== stateSize) {
    progress.deletionPass = true
    await deletionPass(deps, target, progress, push)
    if (progress.missedByListing > 0) deps.log.warn({ bucket: name, missed: progress.missedByListing }, 'listing left out objects that exist: not deleted')
  }
}

async function processPage (deps: ScanDeps, target: ScanTarget, progress: ScanProgress, objects: ListedObject[], push: boolean): Promise<void> {
  if (objects.length === 0) return
  const fps = objects.map(o => encodeFingerprint(o))
  const reply = await deps.scripts.compare([deps.keys.objectState(target.bucket.name)], ...compareArgs(objects, fps))
  progress.known += Number(reply[0])
  if (reply.length === 1) return
  const nowMs = deps.now()
  const changes: Change[] = []
  for (let j = 1; j < reply.length; j += 2) {
    const i = Number(reply[j])
    const old = String(reply[j + 1])
    const obj = objects[i]!
    changes.push({ obj, fp: fps[i]!, old, type: changeType(obj, old, nowMs) })
  }
  progress.changed += changes.length
  await commitChanges(deps, target, progress, changes, push, nowMs)
}

// One NUL-separated argument when no key holds a NUL (S3 listings cannot carry one in XML),
// else key/fingerprint pairs.
function compareArgs (objects: ListedObject[], fps: string[]): string[] {
  const parts: string[] = []
  let nul = false
  objects.forEach((o, i) => {
    if (o.key.includes('\0')) nul = true
    parts.push(o.key, fps[i]!)
  })
  return nul ? parts : [parts.join('\0') + '\0']
}

function changeType (obj: ObjectVersion, old: string, nowMs: number): EventType {
  if (old !== '') return 'updated'
  return isRecent(obj.lastModifiedMs / 1000, nowMs / 1000) ? 'created' : 'detected'
}

async function commitChanges (deps: ScanDeps, target: ScanTarget, progress: ScanProgress, changes: Change[], push: boolean, nowMs: number): Promise<void> {
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
