import {
  DEFAULT_SUBSCRIPTION, decodeSigningSecrets, endpointUrl, subscriptionSecretName, type Bucket, type SecretStore, type Subscription,
  type SubscriptionFormat
} from '@internal/buckets'
import type { FormatContext } from '@internal/events'
import { DeliveryCodes, DeliveryError } from './errors.ts'
import { signingKey } from './signature.ts'
import type { ClientCredentials } from './oauth.ts'

/** Where and how one subscription's events are delivered. */
export interface Target {
  url: URL
  /** The URL as configured: the field of the endpoint-status hash the API reads. */
  rawUrl: string
  /** The origin: the concurrency cap's unit. */
  endpoint: string
  /**
   * The circuit breaker's unit and its metric label: the origin for the `default`
   * subscription, the origin plus bucket and id for the others, so one subscription's
   * failing path never opens the circuit of another.
   */
  breakerKey: string
  subscription: string
  format: SubscriptionFormat
  formatContext: FormatContext
  credentials?: ClientCredentials | undefined
  /** Every signing secret's key: each signs. */
  signingKeys: Buffer[]
}

export interface TargetConfig {
  /** The config's `oauth` section, used only for deliveries to `defaultUrl`. */
  oauth: { token_url?: string | undefined, client_id?: string | undefined, client_secret?: string | undefined, scope?: string | undefined }
  /** defaults.signing_region: the s3 format's awsRegion when the bucket names none. */
  signingRegion: string
}

/** The breaker unit of a subscription (see Target.breakerKey). */
export function breakerKeyOf (bucket: string, sub: Pick<Subscription, 'id' | 'webhook_url'>): string {
  const origin = new URL(sub.webhook_url).origin
  return sub.id === DEFAULT_SUBSCRIPTION ? origin : `${origin}#${bucket}/${sub.id}`
}

/**
 * Resolves a subscription's target. OAuth2 comes from its webhook_auth (secret from the
 * store) or, for the default subscription inheriting webhook.url only, from the config's
 * oauth section: a global token is never sent to a bucket's own receiver.
 */
export function createTargetResolver ({ oauth, signingRegion }: TargetConfig, secrets: SecretStore, { now = Date.now, cacheMs = 1000 } = {}) {
  async function secret (name: string): Promise<string | undefined> {
    try {
      return await secrets.get(name)
    } catch (err) {
      throw new DeliveryError(DeliveryCodes.SECRET_UNAVAILABLE, 'secret store unavailable', { retryable: true, cause: err })
    }
  }

  async function ownCredentials (bucket: Bucket, sub: Subscription): Promise<ClientCredentials | undefined> {
    const auth = sub.webhook_auth
    if (!auth) return undefined
    const clientSecret = await secret(subscriptionSecretName(bucket.name, sub.id, 'WEBHOOK_CLIENT_SECRET'))
    if (!clientSecret) throw new DeliveryError(DeliveryCodes.SECRET_UNAVAILABLE, `no OAuth client secret stored for subscription ${sub.id} of bucket ${bucket.name}`, { retryable: true })
    return { tokenUrl: auth.token_url, clientId: auth.client_id, clientSecret, scope: auth.scope }
  }

  function globalCredentials (): ClientCredentials | undefined {
    if (!oauth.token_url || !oauth.client_id || !oauth.client_secret) return undefined
    return { tokenUrl: oauth.token_url, clientId: oauth.client_id, clientSecret: oauth.client_secret, scope: oauth.scope }
  }

  // A resolved target is reused while the subscription object is the same one (the registry
  // replaces the bucket, and so its subscriptions, on every change) and for at most `cacheMs`,
  // so a rotated secret is picked up within that time plus the secret store's own cache.
  const cache = new Map<string, { sub: Subscription, at: number, target: Target }>()

  async function resolveFresh (bucket: Bucket, sub: Subscription): Promise<Target> {
    const url = new URL(sub.webhook_url)
    const credentials = sub.inherited ? globalCredentials() : await ownCredentials(bucket, sub)
    const signing = decodeSigningSecrets(await secret(subscriptionSecretName(bucket.name, sub.id, 'SIGNING_SECRET')))
    return {
      url,
      rawUrl: sub.webhook_url,
      endpoint: url.origin,
      breakerKey: breakerKeyOf(bucket.name, sub),
      subscription: sub.id,
      format: sub.format,
      formatContext: { subscription: sub.id, awsRegion: bucket.signing_region ?? signingRegion, source: `${endpointUrl(bucket.endpoint)}/${bucket.name}` },
      credentials,
      signingKeys: signing.map(signingKey)
    }
  }

  return async function resolve (bucket: Bucket, sub: Subscription): Promise<Target> {
    const id = `${bucket.name}\0${sub.id}`
    const hit = cache.get(id)
    if (hit && hit.sub === sub && now() - hit.at < cacheMs) return hit.target
    const target = await resolveFresh(bucket, sub)
    if (cache.size > 10_000) cache.clear()
    cache.set(id, { sub, at: now(), target })
    return target
  }
}

export type TargetResolver = ReturnType<typeof createTargetResolver>

/** The error of an event with no bucket, or a bucket with no receiver at all. */
export function noTarget (bucketName: string, bucket: Bucket | undefined): DeliveryError {
  if (!bucket) return new DeliveryError(DeliveryCodes.BUCKET_UNKNOWN, `bucket ${bucketName} is not configured (deleted or never added)`, { retryable: false })
  return new DeliveryError(DeliveryCodes.NO_WEBHOOK_URL, `no webhook_url or subscription for bucket ${bucketName} and no webhook.url`, { retryable: false })
}

/** The URL as logged: no credentials, no query string (it may carry a secret). */
export function safeUrl (url: URL): string {
  return `${url.origin}${url.pathname}`
}
