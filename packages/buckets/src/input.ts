import { z } from 'zod'
import { BucketName, Endpoint, FastInterval, HttpUrl, MaxRequestsPerSecond, UsablePattern, type StoredBucket, type SecretKind } from './schema.ts'
import { secretName } from './secret-names.ts'

const Secret = z.string().min(1).max(4096)

export const WebhookAuthInput = z.object({
  type: z.literal('oauth2'),
  client_id: z.string().min(1).max(512),
  client_secret: Secret,
  token_url: HttpUrl,
  scope: z.string().max(1024).optional()
}).strict()

/**
 * A bucket as a user supplies it (config file `buckets:` entry or POST /api/buckets/add):
 * the Python monitor's fields, `endpoint` accepted for `region`, its flat OAuth fields,
 * and the optional fields this implementation adds.
 */
export const BucketInputFields = z.object({
  name: BucketName,
  access_key: Secret,
  secret_key: Secret,
  region: Endpoint.optional(),
  endpoint: Endpoint.optional(),
  webhook_url: HttpUrl.nullable().optional(),
  webhook_auth: WebhookAuthInput.optional(),
  client_id: z.string().min(1).max(512).optional(),
  client_secret: Secret.optional(),
  token_url: HttpUrl.optional(),
  scope: z.string().max(1024).optional(),
  signing_secret: z.string().min(16).max(4096).optional(),
  polling_interval: z.number().positive().max(86_400).optional(),
  max_requests_per_second: MaxRequestsPerSecond.optional(),
  fast_interval: FastInterval.optional(),
  include: z.array(UsablePattern).max(100).optional(),
  exclude: z.array(UsablePattern).max(100).optional(),
  first_scan: z.enum(['emit', 'baseline']).optional(),
  signing_region: z.string().min(1).max(64).optional(),
  notifications_enabled: z.boolean().optional()
})

export type BucketInput = z.infer<typeof BucketInputFields>

/** The fields of a bucket that tune its scans, stored as given (add) and replaced when given (update). */
export const TUNING_FIELDS = ['polling_interval', 'fast_interval', 'max_requests_per_second', 'include', 'exclude', 'first_scan', 'signing_region'] as const

export interface NormalizedBucket {
  stored: StoredBucket
  secrets: Partial<Record<SecretKind, string>>
  notificationsEnabled: boolean
}

/** Splits an input into the stored (secret-free) config and the secrets for the secret store. */
export function normalizeBucketInput (input: BucketInput, defaults: { endpoint: string }, nowIso: string): NormalizedBucket {
  const auth = input.webhook_auth ?? flatOAuth(input)
  const stored: StoredBucket = {
    name: input.name,
    endpoint: input.endpoint ?? input.region ?? defaults.endpoint,
    webhook_url: input.webhook_url ?? undefined,
    status: 'active',
    added_at: nowIso,
    ...(auth && { webhook_auth: { type: 'oauth2' as const, client_id: auth.client_id, token_url: auth.token_url, ...(auth.scope && { scope: auth.scope }) } }),
    ...(input.signing_secret && { has_signing_secret: true }),
    ...pick(input, [...TUNING_FIELDS])
  }
  const secrets: NormalizedBucket['secrets'] = { ACCESS_KEY: input.access_key, SECRET_KEY: input.secret_key }
  if (auth) secrets.WEBHOOK_CLIENT_SECRET = auth.client_secret
  if (input.signing_secret) secrets.SIGNING_SECRET = input.signing_secret
  return { stored, secrets, notificationsEnabled: input.notifications_enabled ?? true }
}

/** The flat `client_id`, `client_secret`, `token_url` mean OAuth2 when all three are there. */
function flatOAuth (input: BucketInput): z.infer<typeof WebhookAuthInput> | undefined {
  if (!input.client_id || !input.client_secret || !input.token_url) return undefined
  return { type: 'oauth2', client_id: input.client_id, client_secret: input.client_secret, token_url: input.token_url, scope: input.scope }
}

function pick<T extends object, K extends keyof T> (source: T, names: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {}
  for (const name of names) if (source[name] !== undefined) out[name] = source[name]
  return out
}

/** Names of a bucket's secrets in the store, by kind. */
export function bucketSecretNames (bucket: string): Record<SecretKind, string> {
  return {
    ACCESS_KEY: secretName(bucket, 'ACCESS_KEY'),
    SECRET_KEY: secretName(bucket, 'SECRET_KEY'),
    WEBHOOK_CLIENT_SECRET: secretName(bucket, 'WEBHOOK_CLIENT_SECRET'),
    SIGNING_SECRET: secretName(bucket, 'SIGNING_SECRET')
  }
}
