import { setMaxListeners } from 'node:events'
import type { Bucket } from '@internal/buckets'
import { toError } from '@internal/telemetry'
import { scanNewKeys } from './scan.ts'
import { abandonsScan } from './commit.ts'
import { newProgress, type ScanProgress } from './scan-context.ts'
import { keepLease, loggableError, prepareTarget, type JobDeps } from './scan-job.ts'

/** A bucket's fast-lane cadence, ms; undefined when it has none. */
export function fastIntervalMs (bucket: Bucket): number | undefined {
  return bucket.fast_interval === undefined ? undefined : Math.max(500, Math.round(bucket.fast_interval * 1000))
}

export type FastOutcome = 'ok' | 'error' | 'aborted'

/**
 * A fast-lane scan of a bucket this replica has claimed (on the fast-lane schedule, under the
 * bucket's one lease, so it never runs beside a full scan): lists the keys after the highest
 * one tracked, then releases the lease and sets the next fast-lane time. A failure only waits
 * for the next turn: the full scan's own schedule, backoff and status are left alone.
 */
export async function runClaimedFastScan (deps: JobDeps, bucket: Bucket, shutdown: AbortSignal): Promise<FastOutcome> {
  const progress = newProgress(deps.now())
  const controller = new AbortController()
  setMaxListeners(0, controller.signal)
  const stop = () => controller.abort(shutdown.reason)
  shutdown.addEventListener('abort', stop)
  if (shutdown.aborted) stop()
  const lease = keepLease(deps, bucket.name, controller, deps.keys.fastSchedule)
  let failure: Error | undefined
  try {
    await scanNewKeys(deps, await prepareTarget(deps, bucket, controller.signal), progress)
  } catch (err) {
    failure = toError(err)
  } finally {
    lease.stop()
    shutdown.removeEventListener('abort', stop)
  }
  const outcome: FastOutcome = failure === undefined ? 'ok' : shutdown.aborted || lease.lost || abandonsScan(failure) ? 'aborted' : 'error'
  await finish(deps, bucket, progress)
  record(deps, bucket.name, progress, outcome, failure)
  return outcome
}

async function finish (deps: JobDeps, bucket: Bucket, progress: ScanProgress): Promise<void> {
  const { keys } = deps
  const name = bucket.name
  const every = fastIntervalMs(bucket)
  const next = every === undefined ? '' : String(deps.now() + every)
  const counters = Object.entries(progress.events).flatMap(([type, n]) => [`events_${type}`, String(n)])
  await deps.scripts.finishFast([keys.lease(name), keys.fastSchedule, keys.bucketStatus(name), keys.bucketConfig(name)], deps.owner, name, next, ...counters)
}

// A fast lane runs every few seconds: only scans that announced something or failed are logged.
function record (deps: JobDeps, name: string, progress: ScanProgress, outcome: FastOutcome, failure: Error | undefined): void {
  const m = deps.metrics
  m?.fastScans.inc({ bucket: name, outcome })
  m?.objectsListed.inc({ bucket: name }, progress.listed)
  for (const [type, n] of Object.entries(progress.events)) if (n > 0) m?.events.inc({ bucket: name, type }, n)
  const fields = { bucket: name, outcome, listed: progress.listed, events: progress.events, durationMs: deps.now() - progress.startedAt }
  if (outcome === 'error') deps.log.warn({ ...fields, err: failure && loggableError(failure) }, 'fast-lane scan failed')
  else if (progress.changed > 0) deps.log.info(fields, 'fast-lane scan found new objects')
}
