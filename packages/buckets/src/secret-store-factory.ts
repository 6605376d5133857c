import type { Redis } from 'ioredis'
import type { Keys } from '@internal/redis'
import { createEmbeddedSecretStore, createSecretStoreFromEnv, infisicalOptions, parseSecretsKey, type CachedSecretStore, type SecretStore, type SecretStoreEnv } from '@internal/secrets'
import { withLegacySecretNames } from './secret-names.ts'

/**
 * The services' secret store (@internal/secrets chooses Infisical or the embedded store from
 * the environment), reading a dotted bucket's secrets from their old names too.
 */
export function createSecretStore (env: SecretStoreEnv, redis: Redis, keys: Keys, cacheTtlMs = 60_000): CachedSecretStore {
  return createSecretStoreFromEnv(env, redis, { embeddedKey: keys.secrets, wrap: withLegacySecretNames, cacheTtlMs })
}

/**
 * The store the REST API writes secrets through: for the embedded store, the same hash over the
 * API's own bounded connection, each write refused by Redis once `deadline` has passed (so a
 * write the API answered 503 for never lands later); Infisical is not Redis and needs none,
 * so there the API writes through the services' store (undefined here).
 */
export function createSecretWriter (env: SecretStoreEnv, redis: Redis, keys: Keys, deadline: () => number): SecretStore | undefined {
  if (infisicalOptions(env) || !env.SECRETS_KEY) return undefined
  return createEmbeddedSecretStore(redis, keys.secrets, parseSecretsKey(env.SECRETS_KEY), { deadline })
}
