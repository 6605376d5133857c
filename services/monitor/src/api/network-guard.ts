import { lookup as dnsLookup } from 'node:dns/promises'
import { lookup as dnsLookupCallback, type LookupAddress } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { isIP } from 'node:net'
import { endpointUrl, type NetworkPolicy, type StoredBucket } from '@internal/buckets'

export type Lookup = (host: string) => Promise<string[]>

/** Every address the system resolver gives for `host`. */
export const systemLookup: Lookup = async host => (await dnsLookup(host, { all: true, verbatim: true })).map(a => a.address)

export interface NetworkProblem { field: string, reason: string }

/**
 * Refuses URLs whose host is, or resolves to, an address the network policy forbids
 * (loopback, link-local, private ranges unless listed in webhook.allowed_networks).
 * Every resolved address must be allowed, so one public A record cannot smuggle in a private one.
 */
export function createNetworkGuard (policy: NetworkPolicy, lookup: Lookup = systemLookup) {
  async function checkUrl (url: string): Promise<string | undefined> {
    let host: string
    try { host = new URL(url).hostname.replace(/^\[|\]$/g, '') } catch { return 'is not a valid URL' }
    if (host === '') return 'has no host'
    let addresses: string[]
    if (isIP(host) !== 0) addresses = [host]
    else {
      try { addresses = await lookup(host) } catch { return `host ${host} does not resolve` }
    }
    if (addresses.length === 0) return `host ${host} does not resolve`
    const refused = addresses.find(a => !policy.isAllowedAddress(a))
    return refused === undefined ? undefined : `resolves to ${refused}, a loopback, link-local or private address not listed in webhook.allowed_networks`
  }

  /** Problems of a bucket's webhook URL, token URL and S3 endpoint; empty when all may be reached. */
  async function checkBucket (bucket: Pick<StoredBucket, 'endpoint' | 'webhook_url' | 'webhook_auth'>): Promise<NetworkProblem[]> {
    const targets: Array<[string, string | null | undefined]> = [
      ['endpoint', bucket.endpoint === undefined ? undefined : endpointUrl(bucket.endpoint)],
      ['webhook_url', bucket.webhook_url],
      ['token_url', bucket.webhook_auth?.token_url]
    ]
    const problems: NetworkProblem[] = []
    for (const [field, url] of targets) {
      if (!url) continue
      const reason = await checkUrl(url)
      if (reason) problems.push({ field, reason })
    }
    return problems
  }

  return { checkUrl, checkBucket }
}

export type NetworkGuard = ReturnType<typeof createNetworkGuard>

/**
 * A socket `lookup` that connects only to addresses the policy allows, so a host that passed
 * the check and then re-resolves to a private address (DNS rebinding) is not reached.
 * IP literals never go through a lookup; checkUrl refuses those beforehand.
 */
export function guardedLookup (policy: NetworkPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookupCallback(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 4)
      const allowed = addresses.filter(a => policy.isAllowedAddress(a.address))
      const first = allowed[0]
      if (!first) {
        const refused = Object.assign(new Error(`${hostname} resolves only to addresses webhook.allowed_networks does not allow`), { code: 'EADDRNOTALLOWED' })
        return callback(refused, '', 4)
      }
      if (options.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed)
      else callback(null, first.address, first.family)
    })
  }
}
