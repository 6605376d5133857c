import { commit } from './commit.ts'
import { newProgress, type ScanDeps, type ScanTarget } from './scan-context.ts'

const BATCH = 500

/**
 * Moves a bucket's state from the one hash per bucket of earlier versions (where adopting an
 * original deployment also puts its state) into chunks, before the scan compares anything,
 * so nothing already known is announced again. Each batch is written with compare-and-set
 * against "no state" (a key the chunks already track keeps its newer fingerprint), then
 * removed from the hash: a crash in between only repeats a batch.
 */
export async function migrateHashState (deps: ScanDeps, target: Pick<ScanTarget, 'bucket' | 'signal' | 'firstScan'>): Promise<number> {
  const hashKey = deps.keys.objectState(target.bucket.name)
  const scratch = newProgress(0)
  let moved = 0
  while (await deps.redis.exists(hashKey) === 1) {
    let cursor = '0'
    do {
      target.signal.throwIfAborted()
      const [next, entries] = await deps.redis.hscan(hashKey, cursor, 'COUNT', BATCH)
      cursor = next
      if (entries.length === 0) continue
      const args: string[] = []
      const fields: string[] = []
      for (let i = 0; i < entries.length; i += 2) {
        args.push(entries[i]!, '', entries[i + 1]!, '')
        fields.push(entries[i]!)
      }
      await commit(deps, target, scratch, args, [], 'baseline')
      await deps.redis.hdel(hashKey, ...fields)
      moved += fields.length
    } while (cursor !== '0')
  }
  return moved
}
