import { subscriptionsOf, type BucketRegistry } from '@internal/buckets'
import { breakerKeyOf } from './target.ts'

export interface KnownEndpoints {
  /** How many distinct origins the buckets deliver to (at least one). */
  count (): number
  /** Calls `prune` with the origins and breaker keys in use whenever that set may have shrunk. */
  onPrune (prune: (inUse: Set<string>) => void): void
  close (): void
}

/**
 * The webhook origins the configured buckets' subscriptions deliver to (the default one's
 * webhook_url, else webhook.url, and every other's),
 * kept current on bucket changes. What the consumer keeps per origin (its circuit, slot
 * timings, metric series) is pruned once no bucket uses the origin: an open circuit of a
 * deleted bucket's receiver would otherwise be reported, and alerted on, forever. The prune
 * runs once per burst of changes (a reload announces every bucket) and on a slow sweep, which
 * also catches a circuit brought back by a delivery that finished after its bucket went.
 */
export function trackEndpoints (buckets: BucketRegistry, defaultUrl: string | null, { sweepMs = 60_000 } = {}): KnownEndpoints {
  let known: { origins: Set<string>, all: Set<string> } | undefined
  let scheduled = false
  const pruners: Array<(inUse: Set<string>) => void> = []
  const inUse = () => {
    known ??= collect(buckets, defaultUrl)
    return known
  }
  const prune = () => { scheduled = false; for (const p of pruners) p(inUse().all) }
  const onChange = () => {
    known = undefined
    if (!scheduled) { scheduled = true; setImmediate(prune) }
  }
  buckets.on('change', onChange)
  const sweep = setInterval(prune, sweepMs)
  sweep.unref()
  return {
    count: () => Math.max(1, inUse().origins.size),
    onPrune: p => { pruners.push(p) },
    close () { clearInterval(sweep); buckets.off('change', onChange) }
  }
}

// Origins (the concurrency caps' unit) and breaker keys (the circuits' unit) of every subscription.
function collect (buckets: BucketRegistry, defaultUrl: string | null): { origins: Set<string>, all: Set<string> } {
  const origins = new Set<string>()
  const all = new Set<string>()
  for (const bucket of buckets.all()) {
    for (const sub of subscriptionsOf(bucket, defaultUrl)) {
      try {
        origins.add(new URL(sub.webhook_url).origin)
        all.add(breakerKeyOf(bucket.name, sub))
      } catch {}
    }
  }
  for (const origin of origins) all.add(origin)
  return { origins, all }
}
