import { Agent } from 'undici'
import { guardedLookup, refusedLiteral, type NetworkPolicy } from '@internal/buckets'
import { DeliveryCodes, DeliveryError } from './errors.ts'

// The address rule and the connect-time lookup are the shared guard of @internal/buckets;
// here they only fail a delivery with the consumer's own error.
function refused (host: string, address: string): DeliveryError {
  return new DeliveryError(DeliveryCodes.ADDRESS_REFUSED, `${host} resolves to ${address}, outside webhook.allowed_networks`, { retryable: false })
}

// Verdicts per host name for each policy: the same few webhook hosts are checked per request.
const verdicts = new WeakMap<NetworkPolicy, Map<string, string | null>>()

/** Checks a URL whose host is an IP literal (no lookup runs for those). Throws when refused. */
export function assertUrlAllowed (url: URL, policy: NetworkPolicy): void {
  let known = verdicts.get(policy)
  if (!known) verdicts.set(policy, known = new Map())
  let verdict = known.get(url.hostname)
  if (verdict === undefined) {
    verdict = refusedLiteral(url.hostname, policy) ?? null
    if (known.size < 10_000) known.set(url.hostname, verdict)
  }
  if (verdict !== null) throw refused(url.hostname, verdict)
}

/** Pooled keep-alive connections per origin, every connect going through the guard. */
export function createGuardedAgent (policy: NetworkPolicy, { connectTimeoutMs, connectionsPerOrigin }: { connectTimeoutMs: number, connectionsPerOrigin: number }): Agent {
  return new Agent({
    connections: connectionsPerOrigin,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    connect: { timeout: connectTimeoutMs, lookup: guardedLookup(policy, { refuse: refused }) }
  })
}
