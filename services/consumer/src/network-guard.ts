import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import { Agent } from 'undici'
import type { NetworkPolicy } from '@internal/buckets'
import { DeliveryCodes, DeliveryError } from './errors.ts'

function refused (host: string, address: string): DeliveryError {
  return new DeliveryError(DeliveryCodes.ADDRESS_REFUSED, `${host} resolves to ${address}, outside webhook.allowed_networks`, { retryable: false })
}

/**
 * A DNS lookup that refuses addresses the policy blocks. It runs inside the connect of
 * every new socket, so the address checked is the address dialled: a name that resolves
 * to a public address at validation time and to 169.254.169.254 later (DNS rebinding) is
 * still refused.
 */
export function guardedLookup (policy: NetworkPolicy): LookupFunction {
  return ((hostname: string, options: any, callback: any) => {
    dnsLookup(hostname, options, (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => {
      if (err) return callback(err)
      const list = Array.isArray(address) ? address : [{ address, family: family ?? 4 }]
      const bad = list.find(a => !policy.isAllowedAddress(a.address))
      if (bad) return callback(refused(hostname, bad.address))
      callback(null, address, family)
    })
  }) as LookupFunction
}

// Verdicts per host name for each policy: the same few webhook hosts are checked per request.
const verdicts = new WeakMap<NetworkPolicy, Map<string, boolean>>()

/** Checks a URL whose host is an IP literal (no lookup runs for those). Throws when refused. */
export function assertUrlAllowed (url: URL, policy: NetworkPolicy): void {
  let known = verdicts.get(policy)
  if (!known) verdicts.set(policy, known = new Map())
  let allowed = known.get(url.hostname)
  if (allowed === undefined) {
    const host = url.hostname.replace(/^\[|\]$/g, '')
    allowed = isIP(host) === 0 || policy.isAllowedAddress(host)
    if (known.size < 10_000) known.set(url.hostname, allowed)
  }
  if (!allowed) throw refused(url.hostname, url.hostname.replace(/^\[|\]$/g, ''))
}

/** Pooled keep-alive connections per origin, every connect going through the guard. */
export function createGuardedAgent (policy: NetworkPolicy, { connectTimeoutMs, connectionsPerOrigin }: { connectTimeoutMs: number, connectionsPerOrigin: number }): Agent {
  return new Agent({
    connections: connectionsPerOrigin,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    connect: { timeout: connectTimeoutMs, lookup: guardedLookup(policy) }
  })
}
