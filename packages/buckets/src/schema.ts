import { isIP } from 'node:net'
import { z } from 'zod'
import { patternProblem } from './patterns.ts'
import { EventType } from '@internal/events'

/** S3's bucket naming rules: 3-63 of a-z 0-9 . -, starting and ending alphanumeric, no `..`, not an IP. */
export const BucketName = z.string()
  .min(3, 'must be 3 to 63 characters').max(63, 'must be 3 to 63 characters')
  .regex(/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/, 'only lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit')
  .refine(name => !name.includes('..'), 'must not contain two adjacent dots')
  .refine(name => isIP(name) === 0, 'must not look like an IP address')

// The URL parser silently drops CR, LF and tab, so the URL used would differ from the one
// written; refusing them lets the caller see the mistake (or the header-injection attempt).
const CONTROL_WHITESPACE = 'must not contain CR, LF or tab'
function hasNoControlWhitespace (value: string): boolean {
  return !/[\r\n\t]/.test(value)
}

/** A bare host (`us-east-1.linodeobjects.com`, meaning https) or a full http(s) URL. */
export const Endpoint = z.string().min(1).max(253).refine(hasNoControlWhitespace, CONTROL_WHITESPACE).refine(isEndpoint, 'must be a host name or an http(s) URL')

function isEndpoint (value: string): boolean {
  if (/^https?:\/\//.test(value)) {
    try { return new URL(value).hostname.length > 0 } catch { return false }
  }
  return /^[a-zA-Z0-9.-]+(:\d{1,5})?$/.test(value)
}

/** The URL the S3 client talks to: a bare host means https. */
export function endpointUrl (endpoint: string): string {
  return /^https?:\/\//.test(endpoint) ? endpoint.replace(/\/+$/, '') : `https://${endpoint}`
}

/** The `region` field of events: the endpoint's host, as the Python monitor sends it. */
export function endpointHost (endpoint: string): string {
  return /^https?:\/\//.test(endpoint) ? new URL(endpoint).host : endpoint
}

// zod 4 runs a refinement even after .url() failed, so the check must not throw on a non-URL.
// The whitespace check comes first: zod's url() hands on the value with CR, LF and tab removed.
/** A bucket's request budget: S3 requests per second from all replicas together. */
export const MaxRequestsPerSecond = z.number().int().min(1).max(100_000)

/** A fast lane's cadence, seconds: at least 0.5 (two a second), at most a day. */
export const FastInterval = z.number().min(0.5).max(86_400)

export const HttpUrl = z.string().max(2048).refine(hasNoControlWhitespace, CONTROL_WHITESPACE).url().refine(isHttpUrl, 'must be an http or https URL')

function isHttpUrl (value: string): boolean {
  try { return /^https?:$/.test(new URL(value).protocol) } catch { return false }
}

/** A glob as stored: read back as it was written, so an old config stays readable. */
export const Pattern = z.string().min(1).max(512)

/** A glob as a user gives it: refused, naming it, when picomatch cannot use it (see patterns.ts). */
export const UsablePattern = Pattern.superRefine((pattern, ctx) => {
  const problem = patternProblem(pattern)
  if (problem) ctx.addIssue({ code: 'custom', message: `pattern ${JSON.stringify(pattern)}: ${problem}` })
})

/** OAuth2 client credentials as kept in the stored config; the secret lives in the secret store. */
export const StoredWebhookAuth = z.object({
  type: z.literal('oauth2'),
  client_id: z.string().min(1).max(512),
  token_url: HttpUrl,
  scope: z.string().max(1024).optional()
})
export type StoredWebhookAuth = z.infer<typeof StoredWebhookAuth>

/** A subscription's id: what a receiver is called within its bucket (and S3's configurationId). */
export const SubscriptionId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1 to 63 of a-z, 0-9 and -, starting with a letter or digit')

/** The bucket's own webhook_url and webhook_auth, listed among its subscriptions under this id. */
export const DEFAULT_SUBSCRIPTION = 'default'
export const SUBSCRIPTION_FORMATS = ['original', 's3', 'cloudevents'] as const
export const SubscriptionFormat = z.enum(SUBSCRIPTION_FORMATS)
export type SubscriptionFormat = z.infer<typeof SubscriptionFormat>
export const ALL_EVENTS = EventType.options
/** At most this many subscriptions per bucket besides `default` (Google Cloud Storage allows 100). */
export const MAX_SUBSCRIPTIONS = 100

/** S3 filter-rule `prefix`/`suffix`: literal and case-sensitive. */
export const Affix = z.string().min(1).max(1024)

/** Waits between a subscription's attempts, seconds: one more attempt than delays. */
export const RetrySchedule = z.array(z.number().positive().max(7 * 86_400)).max(50)

/** What a subscription selects, beside its receiver: shared by the default and the others. */
export const SubscriptionRules = z.object({
  events: z.array(EventType).min(1).max(ALL_EVENTS.length),
  prefix: Affix.optional(),
  suffix: Affix.optional(),
  include: z.array(Pattern).max(100).optional(),
  exclude: z.array(Pattern).max(100).optional(),
  format: SubscriptionFormat,
  enabled: z.boolean(),
  /** Waits between attempts, seconds (±20 % jitter), instead of webhook.retry_schedule. */
  retry_schedule: RetrySchedule.optional()
})

/**
 * A subscription as kept inside its bucket's stored config (no secret: the OAuth client
 * secret and the signing secrets are in the secret store, here only their presence).
 */
export const StoredSubscription = SubscriptionRules.extend({
  id: SubscriptionId,
  webhook_url: HttpUrl,
  webhook_auth: StoredWebhookAuth.optional(),
  signing_secret_count: z.number().int().min(1).optional(),
  created_at: z.string().optional(),
  updated_at: z.string().optional()
})
export type StoredSubscription = z.infer<typeof StoredSubscription>

/** The default subscription's own rules, kept in the bucket as `default_subscription`. */
export const DefaultSubscriptionRules = SubscriptionRules.partial()
export type DefaultSubscriptionRules = z.infer<typeof DefaultSubscriptionRules>

/**
 * A bucket's configuration as stored in Redis under the Python monitor's key: no secret ever.
 * `.loose()` keeps the Python monitor's extra fields readable (an old config is adopted, not refused).
 */
export const StoredBucket = z.object({
  name: BucketName,
  endpoint: Endpoint,
  webhook_url: HttpUrl.nullable().optional(),
  webhook_auth: StoredWebhookAuth.optional(),
  has_signing_secret: z.boolean().optional(),
  polling_interval: z.number().positive().max(86_400).optional(),
  /** S3 requests per second this bucket may receive from all replicas (else parallel.max_requests_per_second_per_bucket). */
  max_requests_per_second: MaxRequestsPerSecond.optional(),
  /** Seconds between fast-lane scans (only the keys after the highest one tracked); absent: no fast lane. */
  fast_interval: FastInterval.optional(),
  include: z.array(Pattern).max(100).optional(),
  exclude: z.array(Pattern).max(100).optional(),
  first_scan: z.enum(['emit', 'baseline']).optional(),
  signing_region: z.string().min(1).max(64).optional(),
  /** Receivers besides the bucket's own webhook_url (subscriptions.ts), without secrets. */
  subscriptions: z.array(StoredSubscription).max(MAX_SUBSCRIPTIONS).optional(),
  default_subscription: DefaultSubscriptionRules.optional(),
  signing_secret_count: z.number().int().min(1).optional(),
  status: z.string().default('active'),
  added_at: z.string().optional(),
  updated_at: z.string().optional()
}).loose()
export type StoredBucket = z.infer<typeof StoredBucket>

/** A bucket as the services use it: the stored config plus its notification switch. */
export type Bucket = StoredBucket & { notifications_enabled: boolean }

export const SECRET_KINDS = ['ACCESS_KEY', 'SECRET_KEY', 'WEBHOOK_CLIENT_SECRET', 'SIGNING_SECRET'] as const
export type SecretKind = typeof SECRET_KINDS[number]
