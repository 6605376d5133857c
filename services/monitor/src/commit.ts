import type { EventType } from '@internal/events'
import type { ScanDeps, ScanTarget, ScanProgress } from './scan-context.ts'
import { CHUNK_MAX_ENTRIES, stateKeys } from './chunk-state.ts'

/** The bucket was removed while it was being scanned: the scan stops, nothing more is written. */
export class BucketRemovedError extends Error {
  readonly code = 'BUCKET_REMOVED'
  constructor (bucket: string) {
    super(`bucket ${bucket} was removed during the scan`)
    this.name = 'BucketRemovedError'
  }
}

/**
 * Notifications were switched on after the scan read the switch as off, so the page it
 * prepared carries no events: nothing of it is applied, and the bucket is scanned again at once.
 */
export class NotificationsEnabledError extends Error {
  readonly code = 'NOTIFICATIONS_ENABLED_DURING_SCAN'
  constructor (bucket: string) {
    super(`notifications of bucket ${bucket} were enabled during the scan`)
    this.name = 'NotificationsEnabledError'
  }
}

/** Errors that end a scan early without it having failed: it is rescheduled at once. */
export const abandonsScan = (err: unknown): boolean => err instanceof BucketRemovedError || err instanceof NotificationsEnabledError

const isBaseline = (target: Pick<ScanTarget, 'firstScan'>, progress: ScanProgress) => progress.firstScan && target.firstScan === 'baseline'

const commitMode = (target: Pick<ScanTarget, 'firstScan'>, progress: ScanProgress): CommitMode =>
  isBaseline(target, progress) ? 'baseline' : progress.notificationsOn ? 'push' : 'off'

/**
 * Whether the scan builds events (and runs the HeadObjects they need). The switch is the one
 * read from Redis when the scan started; the commit script checks it again on every page.
 */
export function buildsEvents (target: Pick<ScanTarget, 'firstScan'>, progress: ScanProgress): boolean {
  return progress.notificationsOn && !isBaseline(target, progress)
}

export type CommitMode = 'push' | 'off' | 'baseline'

/**
 * Runs the commit script for prepared quads and counts the events it enqueued. `mode`
 * defaults to what the scan prepared; 'baseline' records state only whatever the switch says.
 */
export async function commit (deps: ScanDeps, target: Pick<ScanTarget, 'bucket' | 'firstScan'>, progress: ScanProgress, quads: string[], types: Array<EventType | undefined>, mode: CommitMode = commitMode(target, progress)): Promise<void> {
  const name = target.bucket.name
  const state = stateKeys(deps, name)
  const keys = [state.index, state.meta, deps.keys.queue, deps.keys.bucketConfig(name), deps.keys.notificationsDisabled(name)]
  const [applied, pushed, skipped, ...skippedAt] = await deps.scripts.commit(keys, mode, state.chunkPrefix, String(CHUNK_MAX_ENTRIES), ...quads)
  if (applied === -1) throw new BucketRemovedError(name)
  if (applied === -2) throw new NotificationsEnabledError(name)
  progress.skipped += Number(skipped)
  if (Number(pushed) > 0) {
    const skippedSet = new Set(skippedAt.map(Number))
    types.forEach((t, i) => { if (t && !skippedSet.has(i)) progress.events[t]++ })
    deps.onEvents?.(pushedEvents(quads, skippedSet))
  }
  if (deps.waitReplicas > 0) await deps.redis.wait(deps.waitReplicas, deps.waitTimeoutMs)
}

/** The event JSON of every quad the commit enqueued (not skipped, with an event). */
function pushedEvents (quads: string[], skipped: Set<number>): string[] {
  const events: string[] = []
  for (let i = 0; i * 4 < quads.length; i++) {
    const event = quads[i * 4 + 3]!
    if (event !== '' && !skipped.has(i)) events.push(event)
  }
  return events
}
