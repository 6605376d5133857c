import { bucketSecretNames, type Bucket, type BucketRegistry } from '@internal/buckets'
import { intervalMs, type JobDeps } from './scan-job.ts'
import { fastIntervalMs } from './fast-lane.ts'
import { firstDue, staggerOffsetMs } from './stagger.ts'
/** What rescheduling needs of the scheduler's dependencies. */
export type UpdateDeps = JobDeps & { registry: BucketRegistry, staggerMethod: Parameters<typeof staggerOffsetMs>[0] }

type TimingDeps = Pick<UpdateDeps, 'defaults' | 'staggerMethod' | 'random' | 'registry' | 'now'>

/** The bucket's next stagger slot from now. */
export function firstDueMs (deps: TimingDeps, bucket: Bucket): number {
  const interval = intervalMs(deps, bucket)
  const all = deps.registry.all().map(b => b.name)
  return firstDue(deps.now(), interval, staggerOffsetMs(deps.staggerMethod, bucket.name, interval, all, deps.random))
}

/** The bucket's latest stagger slot that has passed: due at once, later scans on its slot. */
export function slotPassedMs (deps: TimingDeps, bucket: Bucket): number {
  return firstDueMs(deps, bucket) - intervalMs(deps, bucket)
}

/**
 * What an updated bucket changes for this replica: credentials read again and a new client
 * when its endpoint or config changed; a re-enabled bucket scanned at once; a new polling
 * interval or fast lane rescheduled. `woken` runs once a reschedule makes it due sooner.
 */
export function applyBucketUpdate (deps: UpdateDeps, before: Bucket, after: Bucket, woken: () => void): void {
  const { clients, secrets, redis, keys, log } = deps
  const name = after.name
  const failed = (err: unknown) => log.warn({ err, bucket: name }, 'reschedule failed')
  if (before.endpoint !== after.endpoint || before.updated_at !== after.updated_at) {
    const cached = secrets as { invalidate?: (name?: string) => void }
    for (const secret of Object.values(bucketSecretNames(name))) cached.invalidate?.(secret)
    clients.drop(name)
  }
  if (!before.notifications_enabled && after.notifications_enabled) {
    redis.zadd(keys.schedule, 'XX', 'LT', slotPassedMs(deps, after), name).then(woken, failed)
  }
  if (before.fast_interval !== after.fast_interval) {
    // Switched on, the fast lane starts one interval from now; switched off, it leaves its schedule.
    const every = fastIntervalMs(after)
    const change = every === undefined ? redis.zrem(keys.fastSchedule, name) : redis.zadd(keys.fastSchedule, deps.now() + every, name)
    change.then(woken, failed)
  }
  if (before.polling_interval !== after.polling_interval) redis.zadd(keys.schedule, 'XX', firstDueMs(deps, after), name).catch(failed)
}
