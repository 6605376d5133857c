import type { Redis } from 'ioredis'
import type { Keys } from '@internal/redis'
import { createCachedSecretStore, type CachedSecretStore } from './secret-store.ts'
import { createEmbeddedSecretStore, parseSecretsKey } from './embedded-store.ts'

export interface SecretStoreEnv {
  SECRETS_KEY?: string
  INFISICAL_API_URL?: string
  INFISICAL_TOKEN?: string
  INFISICAL_PROJECT_ID?: string
  INFISICAL_ENV?: string
  INFISICAL_CLIENT_ID?: string
  INFISICAL_CLIENT_SECRET?: string
}

/**
 * Infisical when it is configured, else the embedded AES-256-GCM store under SECRETS_KEY.
 * With neither, start-up fails: there is no plaintext mode.
 */
export function createSecretStore (env: SecretStoreEnv, redis: Redis, keys: Keys, cacheTtlMs = 60_000): CachedSecretStore {
  if (env.SECRETS_KEY) {
    return createCachedSecretStore(createEmbeddedSecretStore(redis, keys.secrets, parseSecretsKey(env.SECRETS_KEY)), { ttlMs: cacheTtlMs })
  }
  throw new Error('no secret store configured: set SECRETS_KEY (32 bytes, base64) or the INFISICAL_* variables')
}
