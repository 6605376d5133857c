import type { Redis } from 'ioredis'
import { createCachedSecretStore, type CachedSecretStore, type SecretStore } from './secret-store.ts'
import { createEmbeddedSecretStore, parseSecretsKey } from './embedded-store.ts'
import { createInfisicalSecretStore, type InfisicalStoreOptions } from './infisical-store.ts'

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

export interface StoreFromEnvOptions {
  /** The embedded store's Redis hash. */
  embeddedKey: string
  /** Wraps the backend before the cache (the bucket registry's legacy secret names). */
  wrap?: (store: SecretStore) => SecretStore
  cacheTtlMs?: number
}

/**
 * Infisical when it is configured (INFISICAL_PROJECT_ID plus INFISICAL_TOKEN or the
 * universal-auth client id and secret), else the embedded AES-256-GCM store under SECRETS_KEY.
 * With neither, start-up fails: there is no plaintext mode.
 */
export function createSecretStoreFromEnv (env: SecretStoreEnv, redis: Redis, { embeddedKey, wrap = s => s, cacheTtlMs = 60_000 }: StoreFromEnvOptions): CachedSecretStore {
  const infisical = infisicalOptions(env)
  if (infisical) {
    return createCachedSecretStore(wrap(createInfisicalSecretStore(infisical)), { ttlMs: cacheTtlMs, backendTimeoutMs: INFISICAL_BACKEND_TIMEOUT_MS })
  }
  if (env.SECRETS_KEY) {
    return createCachedSecretStore(wrap(createEmbeddedSecretStore(redis, embeddedKey, parseSecretsKey(env.SECRETS_KEY))), { ttlMs: cacheTtlMs })
  }
  throw new Error('no secret store configured: set SECRETS_KEY (32 bytes, base64) or the INFISICAL_* variables')
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
