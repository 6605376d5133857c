import type { DeliveryQueue } from '@internal/redis'

/**
 * Collects the acks of deliveries that finish in the same event-loop turn and sends them
 * as one script call: at thousands of deliveries per second, one Redis command per ack
 * was the consumer's largest cost after the HTTP request itself.
 */
export function createAckBatcher (queue: DeliveryQueue, consumerId: string) {
  let pending: Array<{ entry: string, resolve: (ours: boolean) => void, reject: (err: unknown) => void }> = []

  function flush (): void {
    const batch = pending
    pending = []
    queue.ackMany(consumerId, batch.map(p => p.entry)).then(
      results => { batch.forEach((p, i) => p.resolve(results[i] ?? false)) },
      err => { for (const p of batch) p.reject(err) }
    )
  }

  return function ack (entry: string): Promise<boolean> {
    if (pending.length === 0) setImmediate(flush)
    return new Promise((resolve, reject) => { pending.push({ entry, resolve, reject }) })
  }
}
