import { bucketSecretNames, type Bucket, type SecretStore } from '@internal/buckets'
import { DeliveryCodes, DeliveryError } from './errors.ts'
import { signingKey } from './signature.ts'
import type { ClientCredentials } from './oauth.ts'

/** Where and how one bucket's events are delivered. */
export interface Target {
  url: URL
  /** The URL as configured: the field of the endpoint-status hash the API reads. */
  rawUrl: string
  /** The origin: the circuit breaker's and the concurrency cap's unit, and a metric label. */
  endpoint: string
  credentials?: ClientCredentials | undefined
  signingKey?: Buffer | undefined
}

export interface TargetConfig {
  /** webhook.url: used for buckets without their own webhook_url. */
  defaultUrl: string | null
  /** The config's `oauth` section, used only for deliveries to `defaultUrl`. */
  oauth: { token_url?: string | undefined, client_id?: string | undefined, client_secret?: string | undefined, scope?: string | undefined }
}

/**
 * Resolves a bucket's target: its webhook_url, else webhook.url. An event of a bucket that
 * is not configured has no target: webhook.url is the default of configured buckets only,
 * and its receiver never subscribed to a deleted bucket's events. OAuth2 comes from the
 * bucket's webhook_auth (secret from the store) or, for the global URL only, from the
 * config's oauth section: a global token is never sent to a bucket's own receiver.
 */
export function createTargetResolver ({ defaultUrl, oauth }: TargetConfig, secrets: SecretStore, { now = Date.now, cacheMs = 1000 } = {}) {
  async function secret (name: string): Promise<string | undefined> {
    try {
      return await secrets.get(name)
    } catch (err) {
      throw new DeliveryError(DeliveryCodes.SECRET_UNAVAILABLE, 'secret store unavailable', { retryable: true, cause: err })
    }
  }

  async function bucketCredentials (bucket: Bucket): Promise<ClientCredentials | undefined> {
    const auth = bucket.webhook_auth
    if (!auth) return undefined
    const clientSecret = await secret(bucketSecretNames(bucket.name).WEBHOOK_CLIENT_SECRET)
    if (!clientSecret) throw new DeliveryError(DeliveryCodes.SECRET_UNAVAILABLE, `no OAuth client secret stored for bucket ${bucket.name}`, { retryable: true })
    return { tokenUrl: auth.token_url, clientId: auth.client_id, clientSecret, scope: auth.scope }
  }

  function globalCredentials (): ClientCredentials | undefined {
    if (!oauth.token_url || !oauth.client_id || !oauth.client_secret) return undefined
    return { tokenUrl: oauth.token_url, clientId: oauth.client_id, clientSecret: oauth.client_secret, scope: oauth.scope }
  }

  // A resolved target is reused while the bucket's config object is the same one (the
  // registry replaces it on every change) and for at most `cacheMs`, so a rotated secret
  // is picked up within that time plus the secret store's own cache.
  const cache = new Map<string, { bucket: Bucket | undefined, at: number, target: Target }>()

  return async function resolve (bucketName: string, bucket: Bucket | undefined): Promise<Target> {
    const hit = cache.get(bucketName)
    if (hit && hit.bucket === bucket && now() - hit.at < cacheMs) return hit.target
    const target = await resolveFresh(bucketName, bucket)
    if (cache.size > 10_000) cache.clear()
    cache.set(bucketName, { bucket, at: now(), target })
    return target
  }

  async function resolveFresh (bucketName: string, bucket: Bucket | undefined): Promise<Target> {
    if (!bucket) throw new DeliveryError(DeliveryCodes.BUCKET_UNKNOWN, `bucket ${bucketName} is not configured (deleted or never added)`, { retryable: false })
    const own = bucket.webhook_url ?? undefined
    const raw = own ?? defaultUrl
    if (!raw) throw new DeliveryError(DeliveryCodes.NO_WEBHOOK_URL, `no webhook_url for bucket ${bucketName} and no webhook.url`, { retryable: false })
    const url = new URL(raw)
    const credentials = own ? await bucketCredentials(bucket) : globalCredentials()
    const signing = await secret(bucketSecretNames(bucketName).SIGNING_SECRET)
    return { url, rawUrl: raw, endpoint: url.origin, credentials, signingKey: signing ? signingKey(signing) : undefined }
  }
}

export type TargetResolver = ReturnType<typeof createTargetResolver>

/** The URL as logged: no credentials, no query string (it may carry a secret). */
export function safeUrl (url: URL): string {
  return `${url.origin}${url.pathname}`
}
