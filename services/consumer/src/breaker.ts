export type BreakerState = 'closed' | 'open' | 'half_open'

export interface BreakerOptions {
  /** Consecutive failures that open the circuit (webhook.circuit_threshold). */
  threshold: number
  /** How long it stays open before one probe is let through, ms (webhook.circuit_reset_time). */
  resetMs: number
  now: () => number
  onStateChange?: (endpoint: string, state: BreakerState) => void
}

interface Circuit { failures: number, openedAt: number | undefined, probing: boolean }

export type Admission = { allowed: true } | { allowed: false, retryAtMs: number }

/**
 * One circuit per endpoint, a small state machine on an injected clock rather than opossum:
 * opossum trips on a rolling failure percentage (not `circuit_threshold` consecutive
 * failures), admits every concurrent call while half-open (opossum issue #819; the Python
 * consumer's breaker had the same flaw), reads Date.now and arms its own reset timer, so tests would have to sleep through
 * the reset time, and it wraps a function call where we need an admission check that lets
 * a refused event wait in Redis without spending an attempt.
 */
export function createBreakers ({ threshold, resetMs, now, onStateChange }: BreakerOptions) {
  const circuits = new Map<string, Circuit>()
  const circuit = (endpoint: string): Circuit => {
    let c = circuits.get(endpoint)
    if (!c) circuits.set(endpoint, c = { failures: 0, openedAt: undefined, probing: false })
    return c
  }
  const stateOf = (c: Circuit): BreakerState => {
    if (c.openedAt === undefined) return 'closed'
    return now() - c.openedAt >= resetMs ? 'half_open' : 'open'
  }

  return {
    state: (endpoint: string): BreakerState => stateOf(circuit(endpoint)),

    /** Closed: go. Open: wait until the half-open time. Half-open: one probe at a time. */
    admit (endpoint: string): Admission {
      const c = circuit(endpoint)
      const state = stateOf(c)
      if (state === 'closed') return { allowed: true }
      if (state === 'half_open' && !c.probing) {
        c.probing = true
        onStateChange?.(endpoint, 'half_open')
        return { allowed: true }
      }
      const reopenAt = (c.openedAt ?? now()) + resetMs
      return { allowed: false, retryAtMs: Math.max(reopenAt, now() + Math.min(resetMs, 1000)) }
    },

    /** Records an admitted call's result: true = the endpoint answered, false = it failed, undefined = no call made. */
    record (endpoint: string, ok: boolean | undefined): void {
      const c = circuit(endpoint)
      const wasProbe = c.probing
      c.probing = false
      if (ok === undefined) return
      if (ok) {
        if (c.openedAt !== undefined) onStateChange?.(endpoint, 'closed')
        Object.assign(c, { failures: 0, openedAt: undefined })
        return
      }
      c.failures++
      if (wasProbe || (c.openedAt === undefined && c.failures >= threshold)) {
        c.openedAt = now()
        onStateChange?.(endpoint, 'open')
      }
    },

    /** Forgets the circuits of endpoints not in `keep` (no bucket delivers there any more); returns them. */
    prune (keep: Set<string>): string[] {
      const gone = [...circuits.keys()].filter(endpoint => !keep.has(endpoint))
      for (const endpoint of gone) circuits.delete(endpoint)
      return gone
    }
  }
}

export type Breakers = ReturnType<typeof createBreakers>
