import { isIP } from 'node:net'
import { z } from 'zod'

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
export const HttpUrl = z.string().max(2048).refine(hasNoControlWhitespace, CONTROL_WHITESPACE).url().refine(isHttpUrl, 'must be an http or https URL')

function isHttpUrl (value: string): boolean {
  try { return /^https?:$/.test(new URL(value).protocol) } catch { return false }
}

export const Pattern = z.string().min(1).max(512)

/** OAuth2 client credentials as kept in the stored config; the secret lives in the secret store. */
export const StoredWebhookAuth = z.object({
  type: z.literal('oauth2'),
  client_id: z.string().min(1).max(512),
  token_url: HttpUrl,
  scope: z.string().max(1024).optional()
})
export type StoredWebhookAuth = z.infer<typeof StoredWebhookAuth>

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
  include: z.array(Pattern).max(100).optional(),
  exclude: z.array(Pattern).max(100).optional(),
  first_scan: z.enum(['emit', 'baseline']).optional(),
  signing_region: z.string().min(1).max(64).optional(),
  status: z.string().default('active'),
  added_at: z.string().optional(),
  updated_at: z.string().optional()
}).loose()
export type StoredBucket = z.infer<typeof StoredBucket>

/** A bucket as the services use it: the stored config plus its notification switch. */
export type Bucket = StoredBucket & { notifications_enabled: boolean }

export const SECRET_KINDS = ['ACCESS_KEY', 'SECRET_KEY', 'WEBHOOK_CLIENT_SECRET', 'SIGNING_SECRET'] as const
export type SecretKind = typeof SECRET_KINDS[number]
