import type { ScanDeps } from './scan-context.ts'
import { stateKeys } from './chunk-state.ts'

const BATCH = 1000

/**
 * A bucket's chunked state expires redis.ttl after its last successful scan, like the one
 * hash per bucket did. finishScan renews the index's TTL at every scan; the chunks' TTLs,
 * one key each, are renewed only when half of it has run out since the last renewal, so a
 * scan writes nothing per chunk in between (a chunk created meanwhile takes the index's TTL).
 */
export async function renewStateTtl (deps: ScanDeps, bucket: string): Promise<void> {
  const keys = stateKeys(deps, bucket)
  const now = deps.now()
  const last = Number(await deps.redis.hget(keys.meta, 'ttl_refreshed_ms') ?? 0)
  if (now - last < deps.stateTtlSec * 1000 / 2) return
  for (let start = 0; ; start += BATCH) {
    const bounds = await deps.redis.zrange(keys.index, start, start + BATCH - 1)
    if (bounds.length === 0) break
    const pipeline = deps.redis.pipeline()
    for (const lower of bounds) pipeline.expire(keys.chunkPrefix + lower, deps.stateTtlSec)
    await pipeline.exec()
  }
  await deps.redis.multi().hset(keys.meta, 'ttl_refreshed_ms', String(now)).expire(keys.meta, deps.stateTtlSec).expire(keys.index, deps.stateTtlSec).exec()
}
