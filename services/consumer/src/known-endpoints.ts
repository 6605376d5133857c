import type { BucketRegistry } from '@internal/buckets'

export interface KnownEndpoints {
  /** How many distinct origins the buckets deliver to (at least one). */
  count (): number
  /** Calls `prune` with the origins in use whenever that set may have shrunk. */
  onPrune (prune: (inUse: Set<string>) => void): void
  close (): void
}

/**
 * The webhook origins the configured buckets deliver to (their webhook_url, else webhook.url),
 * kept current on bucket changes. What the consumer keeps per origin (its circuit, slot
 * timings, metric series) is pruned once no bucket uses the origin: an open circuit of a
 * deleted bucket's receiver would otherwise be reported, and alerted on, forever. The prune
 * runs once per burst of changes (a reload announces every bucket) and on a slow sweep, which
 * also catches a circuit brought back by a delivery that finished after its bucket went.
 */
export function trackEndpoints (buckets: BucketRegistry, defaultUrl: string | null, { sweepMs = 60_000 } = {}): KnownEndpoints {
  let origins: Set<string> | undefined
  let scheduled = false
  const pruners: Array<(inUse: Set<string>) => void> = []
  const inUse = () => {
    origins ??= new Set(buckets.all().map(b => originOf(b.webhook_url ?? defaultUrl)).filter(o => o !== undefined))
    return origins
  }
  const prune = () => { scheduled = false; for (const p of pruners) p(inUse()) }
  const onChange = () => {
    origins = undefined
    if (!scheduled) { scheduled = true; setImmediate(prune) }
  }
  buckets.on('change', onChange)
  const sweep = setInterval(prune, sweepMs)
  sweep.unref()
  return {
    count: () => Math.max(1, inUse().size),
    onPrune: p => { pruners.push(p) },
    close () { clearInterval(sweep); buckets.off('change', onChange) }
  }
}

function originOf (url: string | null): string | undefined {
  if (!url) return undefined
  try { return new URL(url).origin } catch { return undefined }
}
