import type { DeliveryQueue } from '@internal/redis'

/**
 * Finds entries in this consumer's own processing list that no delivery is working on (a
 * settle that failed while Redis was away) and returns them to the queue. An entry must be
 * seen unowned twice, a visibility timeout apart, because a BLMOVE reply may still be on
 * its way when the list is read.
 */
export function createStaleCheck (queue: DeliveryQueue, consumerId: string, working: () => Iterable<string>) {
  const seen = new Map<string, number>()
  return {
    async check (nowMs: number, visibilityMs: number): Promise<number> {
      const busy = new Map<string, number>()
      for (const entry of working()) busy.set(entry, (busy.get(entry) ?? 0) + 1)
      const idle = new Set<string>()
      for (const entry of await queue.processingEntries(consumerId)) {
        const n = busy.get(entry) ?? 0
        if (n > 0) busy.set(entry, n - 1)
        else idle.add(entry)
      }
      for (const entry of seen.keys()) if (!idle.has(entry)) seen.delete(entry)
      let returned = 0
      for (const entry of idle) {
        const first = seen.get(entry)
        if (first === undefined) seen.set(entry, nowMs)
        else if (nowMs - first >= visibilityMs && await queue.requeue(consumerId, entry)) { seen.delete(entry); returned++ }
      }
      return returned
    }
  }
}
