export interface EndpointSlotOptions {
  /** webhook.max_per_endpoint: the most any one endpoint holds, whatever the pool. */
  maxPerEndpoint: number
  /** The slots of the whole pool (the worker threads in use). */
  poolSize?: () => number
  /** How many distinct endpoints the configured buckets use (active or not). */
  knownEndpoints?: () => number
  minDeferMs?: number
  maxDeferMs?: number
  now?: () => number
}

/**
 * Deliveries in flight per endpoint, bounded so that slow receivers cannot take the pool.
 * An endpoint holds at most its fair share of the pool (the pool divided among the endpoints
 * with deliveries in flight) and never more than max_per_endpoint. A share alone is not
 * enough: slots are not taken back, so endpoints that filled the pool before others became
 * busy would keep it for a whole delivery deadline. So a slot is only given while enough stay
 * free for the known endpoints that hold none (one each, up to a quarter of the pool): a
 * healthy receiver always finds a slot however many bad ones hold theirs.
 * An event that finds its endpoint full is deferred for about one typical time that
 * endpoint holds a slot (a moving average), or for as long as none of its slots has freed,
 * whichever is longer: an endpoint that never answers has no typical time yet, and deferring
 * its events by the minimum would spin them through Redis thousands of times a second.
 */
export function createEndpointSlots ({ maxPerEndpoint, poolSize = () => Infinity, knownEndpoints = () => 1, minDeferMs = 50, maxDeferMs = 2000, now = Date.now }: EndpointSlotOptions) {
  const inFlight = new Map<string, number>()
  const typicalMs = new Map<string, number>()
  // When a slot of the endpoint last freed (or it became busy).
  const freedAt = new Map<string, number>()
  let total = 0

  function mayTake (endpoint: string): boolean {
    const held = inFlight.get(endpoint) ?? 0
    const pool = poolSize()
    const active = inFlight.size + (held === 0 ? 1 : 0)
    const share = Math.max(1, Math.floor(pool / active))
    if (held >= Math.min(maxPerEndpoint, share)) return false
    // Slots kept free for the other known endpoints that hold none yet.
    const idleOthers = Math.max(0, knownEndpoints() - active)
    const reserve = Math.min(idleOthers, Math.floor(pool / 4))
    return pool - total - 1 >= reserve
  }

  return {
    tryAcquire (endpoint: string): boolean {
      if (!mayTake(endpoint)) return false
      const n = inFlight.get(endpoint) ?? 0
      if (n === 0) freedAt.set(endpoint, now())
      inFlight.set(endpoint, n + 1)
      total++
      return true
    },
    /** Frees a slot; `heldMs` (how long it was held) feeds the typical deferral. */
    release (endpoint: string, heldMs?: number): void {
      const n = inFlight.get(endpoint)
      if (n === undefined) return
      total--
      freedAt.set(endpoint, now())
      if (n <= 1) inFlight.delete(endpoint)
      else inFlight.set(endpoint, n - 1)
      if (heldMs !== undefined) typicalMs.set(endpoint, 0.8 * (typicalMs.get(endpoint) ?? heldMs) + 0.2 * heldMs)
    },
    inFlight: (endpoint: string) => inFlight.get(endpoint) ?? 0,
    /** How long to defer an event for a full endpoint, with jitter so deferred events spread out. */
    deferMs (endpoint: string, random: () => number): number {
      const stuckMs = inFlight.has(endpoint) ? now() - (freedAt.get(endpoint) ?? now()) : 0
      const typical = Math.min(maxDeferMs, Math.max(minDeferMs, typicalMs.get(endpoint) ?? minDeferMs, stuckMs))
      return Math.round(typical * (0.5 + random()))
    },
    /** Drops what is kept about endpoints not in `keep` and holding no slot. */
    prune (keep: Set<string>): void {
      for (const endpoint of [...typicalMs.keys(), ...freedAt.keys()]) {
        if (!keep.has(endpoint) && !inFlight.has(endpoint)) { typicalMs.delete(endpoint); freedAt.delete(endpoint) }
      }
    }
  }
}

export type EndpointSlots = ReturnType<typeof createEndpointSlots>
