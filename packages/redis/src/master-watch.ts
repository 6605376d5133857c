import type { Redis } from 'ioredis'

export interface MasterChange {
  /** `host:port` of the master before the change. */
  from: string
  to: string
}

/**
 * Calls `onChange` each time a connection comes back ready on a different master than
 * before, which under Sentinel means a failover happened (a services' metric counts them).
 * Returns a function that stops watching.
 */
export function watchMasterChanges (redis: Redis, onChange: (change: MasterChange) => void): () => void {
  let current: string | undefined
  const onReady = () => {
    const stream = redis.stream as { remoteAddress?: string, remotePort?: number } | undefined
    if (!stream?.remoteAddress) return
    const address = `${stream.remoteAddress}:${stream.remotePort}`
    if (current !== undefined && current !== address) onChange({ from: current, to: address })
    current = address
  }
  if (redis.status === 'ready') onReady()
  redis.on('ready', onReady)
  return () => { redis.off('ready', onReady) }
}
