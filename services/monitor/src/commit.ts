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
 * Runs the commit script for prepared quads (after args[0], the push flag) and counts the
 * events it enqueued.
 */
export async function commit (deps: ScanDeps, target: Pick<ScanTarget, 'bucket'>, progress: ScanProgress, args: string[], types: Array<EventType | undefined>): Promise<void> {
  const name = target.bucket.name
  const state = stateKeys(deps, name)
  const keys = [state.index, state.meta, deps.keys.queue, deps.keys.bucketConfig(name)]
  const [applied, pushed, skipped, ...skippedAt] = await deps.scripts.commit(keys, args[0]!, state.chunkPrefix, String(CHUNK_MAX_ENTRIES), ...args.slice(1))
  if (applied === -1) throw new BucketRemovedError(name)
  progress.skipped += Number(skipped)
  if (Number(pushed) > 0) {
    const skippedSet = new Set(skippedAt.map(Number))
    types.forEach((t, i) => { if (t && !skippedSet.has(i)) progress.events[t]++ })
  }
  if (deps.waitReplicas > 0) await deps.redis.wait(deps.waitReplicas, deps.waitTimeoutMs)
}
