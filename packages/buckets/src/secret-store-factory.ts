import type { Redis } from 'ioredis'
import type { Keys } from '@internal/redis'
import { createSecretStoreFromEnv, type CachedSecretStore, type SecretStoreEnv } from '@internal/secrets'
import { withLegacySecretNames } from './secret-names.ts'

/**
 * The services' secret store (@internal/secrets chooses Infisical or the embedded store from
 * the environment), reading a dotted bucket's secrets from their old names too.
 */
export function createSecretStore (env: SecretStoreEnv, redis: Redis, keys: Keys, cacheTtlMs = 60_000): CachedSecretStore {
  return createSecretStoreFromEnv(env, redis, { embeddedKey: keys.secrets, wrap: withLegacySecretNames, cacheTtlMs })
}
