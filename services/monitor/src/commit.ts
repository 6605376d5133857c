import type { EventType } from '@internal/events'
import type { ScanDeps, ScanTarget, ScanProgress } from './scan-context.ts'

/** Runs the commit script for prepared quads and counts the events it enqueued. */
export async function commit (deps: ScanDeps, target: ScanTarget, progress: ScanProgress, args: string[], types: Array<EventType | undefined>): Promise<void> {
  const keys = [deps.keys.objectState(target.bucket.name), deps.keys.queue]
  const [, pushed, skipped, ...skippedAt] = await deps.scripts.commit(keys, ...args)
  progress.skipped += Number(skipped)
  if (Number(pushed) > 0) {
    const skippedSet = new Set(skippedAt.map(Number))
    types.forEach((t, i) => { if (t && !skippedSet.has(i)) progress.events[t]++ })
  }
  if (deps.waitReplicas > 0) await deps.redis.wait(deps.waitReplicas, deps.waitTimeoutMs)
}
