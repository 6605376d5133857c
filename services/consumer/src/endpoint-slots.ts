/**
 * A cap on deliveries in flight per endpoint (webhook.max_per_endpoint), so one slow
 * receiver cannot take every worker. An event that finds its endpoint full is deferred for
 * about one typical delivery time of that endpoint (tracked as a moving average).
 */
export function createEndpointSlots (maxPerEndpoint: number, { minDeferMs = 50, maxDeferMs = 2000 } = {}) {
  const inFlight = new Map<string, number>()
  const typicalMs = new Map<string, number>()

  return {
    tryAcquire (endpoint: string): boolean {
      const n = inFlight.get(endpoint) ?? 0
      if (n >= maxPerEndpoint) return false
      inFlight.set(endpoint, n + 1)
      return true
    },
    release (endpoint: string, durationMs?: number): void {
      const n = (inFlight.get(endpoint) ?? 1) - 1
      if (n <= 0) inFlight.delete(endpoint)
      else inFlight.set(endpoint, n)
      if (durationMs !== undefined) typicalMs.set(endpoint, 0.8 * (typicalMs.get(endpoint) ?? durationMs) + 0.2 * durationMs)
    },
    inFlight: (endpoint: string) => inFlight.get(endpoint) ?? 0,
    /** How long to defer an event for a full endpoint, with jitter so deferred events spread out. */
    deferMs (endpoint: string, random: () => number): number {
      const typical = Math.min(maxDeferMs, Math.max(minDeferMs, typicalMs.get(endpoint) ?? minDeferMs))
      return Math.round(typical * (0.5 + random()))
    }
  }
}

export type EndpointSlots = ReturnType<typeof createEndpointSlots>
