import { SECRET_KINDS } from './schema.ts'
import { bucketSecretNames } from './input.ts'
import { SUBSCRIPTION_SECRET_KINDS, subscriptionSecretName } from './secret-names.ts'
import type { BucketRegistry, BucketChange } from './registry.ts'
import type { CachedSecretStore } from '@internal/secrets'

/**
 * Forgets a bucket's cached secrets (its subscriptions' too) whenever its configuration changes on any replica, so a
 * credential rotation (which bumps `credentials_version` in the config) is read fresh at once
 * instead of after the cache TTL. Registered first, so it runs before listeners that rebuild
 * clients from the secrets. Returns a function that stops watching.
 */
export function invalidateSecretsOnChange (registry: BucketRegistry, secrets: CachedSecretStore): () => void {
  const onChange = ({ name, before, after }: BucketChange) => {
    const names = bucketSecretNames(name)
    for (const kind of SECRET_KINDS) secrets.invalidate(names[kind])
    for (const sub of [...before?.subscriptions ?? [], ...after?.subscriptions ?? []]) {
      for (const kind of SUBSCRIPTION_SECRET_KINDS) secrets.invalidate(subscriptionSecretName(name, sub.id, kind))
    }
  }
  registry.prependListener('change', onChange)
  return () => { registry.off('change', onChange) }
}
