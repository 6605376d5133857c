import type { Config } from '@internal/config'
import { BucketInputFields, createNetworkPolicy, normalizeBucketInput } from '@internal/buckets'
import { createNetworkGuard, systemLookup, type Lookup } from './network-guard.ts'

/**
 * The SSRF rule for buckets from the config file (and BUCKETS_PATH): their endpoint, webhook
 * URL and token URL must not resolve to loopback, link-local or private addresses unless
 * webhook.allowed_networks lists them, exactly as for buckets added through the API. Returns
 * one problem line per refused URL (entries that do not parse are reported by the loader).
 */
export async function checkConfiguredBucketNetworks (config: Config, lookup: Lookup = systemLookup): Promise<string[]> {
  const guard = createNetworkGuard(createNetworkPolicy(config.webhook.allowed_networks), lookup)
  const problems: string[] = []
  for (const [i, raw] of config.buckets.entries()) {
    const parsed = BucketInputFields.safeParse(raw)
    if (!parsed.success) continue
    const { stored } = normalizeBucketInput(parsed.data, config.defaults, new Date(0).toISOString())
    for (const { field, reason } of await guard.checkBucket(stored)) problems.push(`buckets[${i}] (${stored.name}).${field}: ${reason}`)
  }
  return problems
}
