import { randomUUID } from 'node:crypto'
import { checkDeadline, defineScript, type Keys, type Redis } from '@internal/redis'
import type { ScanControl } from './api/context.ts'

export interface ResyncDeps {
  /** The API's own bounded connection: a resync never waits behind a scan's commands, nor they behind it. */
  redis: Redis
  keys: Keys
  now: () => number
  /** When the write must be refused by Redis (its clock, ms); none = no deadline. */
  deadline?: () => number
  /** Ends this replica's schedule wait, so the scan starts at once if it has a free slot. */
  wake: () => void
}

/**
 * Resyncs for the API: one script makes the bucket due now (with `forget` it drops the object
 * state and starts a new id epoch first), then this replica's scheduler is woken; another
 * replica with a free slot may claim it at its next poll.
 */
export function createResync (deps: ResyncDeps): ScanControl {
  const script = defineScript<[string, number, string, string, string, string], number>(
    deps.redis, 'wfResyncBucket', new URL('../lua/resyncBucket.lua', import.meta.url), 5)
  return {
    async resync (bucket, { forget }) {
      const { keys } = deps
      const state = [keys.objectState(bucket), keys.bucketStatus(bucket), keys.stateIndex(bucket), keys.stateMeta(bucket)]
      const deadline = deps.deadline ? String(deps.deadline()) : ''
      checkDeadline(await script([keys.schedule, ...state], bucket, deps.now(), forget ? '1' : '0', keys.stateChunkPrefix(bucket), deadline, randomUUID()))
      deps.wake()
    }
  }
}
