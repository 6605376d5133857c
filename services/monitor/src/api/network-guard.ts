import { checkUrl, endpointUrl, guardedLookup, systemResolve, type NetworkPolicy, type Resolve, type StoredBucket } from '@internal/buckets'

/** Every address a host resolves to (the guard's resolver, as the API's tests inject it). */
export type Lookup = Resolve

export const systemLookup: Lookup = systemResolve

// The connect-time lookup lives with the policy in @internal/buckets, shared by every outgoing connection.
export { guardedLookup }

export interface NetworkProblem { field: string, reason: string }

/**
 * Refuses a bucket whose URLs resolve to an address the network policy forbids (loopback,
 * link-local, private ranges unless listed in webhook.allowed_networks). Every resolved
 * address must be allowed, so one public A record cannot smuggle in a private one.
 */
export function createNetworkGuard (policy: NetworkPolicy, lookup: Lookup = systemLookup) {
  const check = (url: string) => checkUrl(url, policy, lookup)

  /** Problems of a bucket's (or a subscription's) webhook URL, token URL and S3 endpoint; empty when all may be reached. */
  async function checkBucket (bucket: Partial<Pick<StoredBucket, 'endpoint' | 'webhook_url' | 'webhook_auth'>>): Promise<NetworkProblem[]> {
    const targets: Array<[string, string | null | undefined]> = [
      ['endpoint', bucket.endpoint === undefined ? undefined : endpointUrl(bucket.endpoint)],
      ['webhook_url', bucket.webhook_url],
      ['token_url', bucket.webhook_auth?.token_url]
    ]
    const problems: NetworkProblem[] = []
    for (const [field, url] of targets) {
      if (!url) continue
      const reason = await check(url)
      if (reason) problems.push({ field, reason })
    }
    return problems
  }

  return { checkUrl: check, checkBucket }
}

export type NetworkGuard = ReturnType<typeof createNetworkGuard>
