import type { Redis } from 'ioredis'
import type { Keys } from '@internal/redis'
import { createCachedSecretStore, type CachedSecretStore, type SecretStore } from './secret-store.ts'
import { createEmbeddedSecretStore, parseSecretsKey } from './embedded-store.ts'
import { createInfisicalSecretStore, type InfisicalStoreOptions } from './infisical-store.ts'
import { withLegacySecretNames } from './secret-names.ts'

export interface SecretStoreEnv {
  SECRETS_KEY?: string
  INFISICAL_API_URL?: string
  INFISICAL_TOKEN?: string
  INFISICAL_PROJECT_ID?: string
  INFISICAL_ENV?: string
  INFISICAL_CLIENT_ID?: string
  INFISICAL_CLIENT_SECRET?: string
}

/** Infisical Cloud, when INFISICAL_API_URL is not set. */
export const DEFAULT_INFISICAL_URL = 'https://app.infisical.com'
/** The Python monitor's default environment (it wrote the bucket secrets), kept for adoption. */
export const DEFAULT_INFISICAL_ENV = 'dev'
/** How long a read waits for Infisical before a cached value is served (the SDK retries for ~15 s). */
const INFISICAL_BACKEND_TIMEOUT_MS = 2000

/**
 * Infisical when it is configured (INFISICAL_PROJECT_ID plus INFISICAL_TOKEN or the
 * universal-auth client id and secret), else the embedded AES-256-GCM store under SECRETS_KEY.
 * With neither, start-up fails: there is no plaintext mode.
 */
export function createSecretStore (env: SecretStoreEnv, redis: Redis, keys: Keys, cacheTtlMs = 60_000): CachedSecretStore {
  const infisical = infisicalOptions(env)
  if (infisical) {
    return createCachedSecretStore(withLegacySecretNames(createInfisicalSecretStore(infisical)), { ttlMs: cacheTtlMs, backendTimeoutMs: INFISICAL_BACKEND_TIMEOUT_MS })
  }
  if (env.SECRETS_KEY) {
    return createCachedSecretStore(withLegacySecretNames(createEmbeddedSecretStore(redis, keys.secrets, parseSecretsKey(env.SECRETS_KEY))), { ttlMs: cacheTtlMs })
  }
  throw new Error('no secret store configured: set SECRETS_KEY (32 bytes, base64) or the INFISICAL_* variables')
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

/** The Infisical settings, undefined when none is set; throws when they are set but incomplete. */
export function infisicalOptions (env: SecretStoreEnv): InfisicalStoreOptions | undefined {
  const any = [env.INFISICAL_TOKEN, env.INFISICAL_PROJECT_ID, env.INFISICAL_CLIENT_ID, env.INFISICAL_CLIENT_SECRET].some(Boolean)
  if (!any) return undefined
  const problems: string[] = []
  if (!env.INFISICAL_PROJECT_ID) problems.push('INFISICAL_PROJECT_ID is required')
  const universal = Boolean(env.INFISICAL_CLIENT_ID || env.INFISICAL_CLIENT_SECRET)
  if (universal && !(env.INFISICAL_CLIENT_ID && env.INFISICAL_CLIENT_SECRET)) problems.push('INFISICAL_CLIENT_ID and INFISICAL_CLIENT_SECRET go together')
  if (!universal && !env.INFISICAL_TOKEN) problems.push('INFISICAL_TOKEN or INFISICAL_CLIENT_ID/INFISICAL_CLIENT_SECRET is required')
  if (problems.length > 0) throw new Error(`Infisical is partly configured: ${problems.join('; ')}`)
  return {
    siteUrl: (env.INFISICAL_API_URL || DEFAULT_INFISICAL_URL).replace(/\/+$/, ''),
    projectId: env.INFISICAL_PROJECT_ID!,
    environment: env.INFISICAL_ENV || DEFAULT_INFISICAL_ENV,
    auth: universal ? { clientId: env.INFISICAL_CLIENT_ID!, clientSecret: env.INFISICAL_CLIENT_SECRET! } : { accessToken: env.INFISICAL_TOKEN! }
  }
}
