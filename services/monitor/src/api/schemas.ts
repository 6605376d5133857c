import { z } from 'zod'
import { BucketInputFields, BucketName, HttpUrl, SubscriptionId, WebhookAuthInput } from '@internal/buckets'

// Request and answer schemas of every route: the handlers parse with them and the OpenAPI
// document is generated from them, so the two cannot drift apart.

export const TokenRequest = z.object({
  client_id: z.string().min(1).max(512),
  client_secret: z.string().min(1).max(4096)
})

/** RFC 6749 §4.4 as application/x-www-form-urlencoded; the client may instead be in HTTP Basic. */
export const OAuthTokenForm = z.object({
  grant_type: z.string().min(1).max(64),
  client_id: z.string().min(1).max(512).optional(),
  client_secret: z.string().min(1).max(4096).optional(),
  scope: z.string().max(256).optional()
})

export const TokenAnswer = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  scope: z.string()
})

export const ErrorAnswer = z.object({ error: z.string(), message: z.string().optional(), field: z.string().optional(), reason: z.string().optional() })

/** POST /api/buckets/add: the Python monitor's body plus the optional fields; unknown fields refused. */
export const AddBucketBody = BucketInputFields.strict()

const WebhookAuthUpdate = WebhookAuthInput.extend({
  client_id: WebhookAuthInput.shape.client_id.optional(),
  client_secret: WebhookAuthInput.shape.client_secret.optional(),
  token_url: HttpUrl.optional()
}).strict()

/**
 * POST /api/buckets/update: `name` plus any field to change. `webhook_auth: null` and
 * `signing_secret: null` remove them; `token_url` left out keeps the stored one.
 */
export const UpdateBucketBody = BucketInputFields.partial().extend({
  name: BucketName,
  webhook_auth: WebhookAuthUpdate.nullable().optional(),
  signing_secret: BucketInputFields.shape.signing_secret.unwrap().nullable().optional(),
  /** null switches the fast lane off. */
  fast_interval: BucketInputFields.shape.fast_interval.unwrap().nullable().optional()
}).strict()
export type UpdateBucketBody = z.infer<typeof UpdateBucketBody>

export const BucketQuery = z.object({ bucket: BucketName }).strict()
export const BucketParams = z.object({ name: BucketName }).strict()

const queryBool = z.enum(['true', 'false', '1', '0']).transform(v => v === 'true' || v === '1')
export const ResyncQuery = z.object({ forget: queryBool.optional() }).strict()
export const ResyncBody = z.object({ forget: z.boolean().optional() }).strict()

// An instant as ISO 8601 (a date, or a date-time with Z or an offset) or as epoch seconds; parsed to epoch ms.
const INSTANT_REASON = 'must be an ISO 8601 date-time (with Z or an offset) or epoch seconds'
const Instant = z.union([
  z.number().finite().nonnegative({ error: 'epoch seconds must be 0 or more' }),
  z.iso.datetime({ offset: true }),
  z.iso.date()
], { error: INSTANT_REASON }).transform(v => typeof v === 'number' ? Math.round(v * 1000) : Date.parse(v))

export const ReplayBody = z.object({
  since: Instant.optional().describe('Objects whose last_modified is at or after this'),
  until: Instant.optional().describe('Objects whose last_modified is at or before this'),
  prefix: z.string().min(1).max(1024).optional().describe('Only keys starting with this (literal, case-sensitive)'),
  subscription: SubscriptionId.optional().describe('Only this subscription gets the events (default: every subscription, by its filters)')
}).strict()
export const ReplayAnswer = z.object({ count: z.number().int().nonnegative() })

export const SuccessAnswer = z.object({ status: z.literal('success'), message: z.string().optional(), bucket: z.string().optional(), note: z.string().optional() }).loose()

export const NotificationAnswer = z.object({ status: z.literal('success'), bucket: z.string(), notifications: z.enum(['enabled', 'disabled']) })

export const PublicBucket = z.object({
  name: z.string(),
  endpoint: z.string(),
  webhook_url: z.string().nullable().optional(),
  notifications_enabled: z.boolean(),
  webhook_auth: z.object({ type: z.literal('oauth2'), client_id: z.string(), token_url: z.string(), scope: z.string().optional() }).optional(),
  has_signing_secret: z.boolean().optional(),
  polling_interval: z.number().optional(),
  max_requests_per_second: z.number().optional(),
  fast_interval: z.number().optional(),
  include: z.array(z.string()).optional(),
  exclude: z.array(z.string()).optional(),
  first_scan: z.enum(['emit', 'baseline']).optional(),
  status: z.string().optional(),
  added_at: z.string().optional(),
  updated_at: z.string().optional()
}).loose()

export const BucketStatusEntry = z.object({
  name: z.string(),
  notifications_enabled: z.boolean(),
  webhook_url: z.string(),
  endpoint: z.string(),
  last_scan_at: z.string().nullable(),
  last_scan_duration_ms: z.number().nullable(),
  last_scan_outcome: z.enum(['ok', 'error', 'aborted', 'lost']).nullable(),
  next_scan_due: z.string().nullable(),
  objects_tracked: z.number(),
  objects_listed: z.number().nullable(),
  scans_total: z.number(),
  consecutive_failures: z.number(),
  events: z.record(z.string(), z.number()),
  last_error: z.string().nullable(),
  last_error_at: z.string().nullable(),
  endpoint_gone: z.boolean(),
  /** S3 requests per second the bucket may receive now: its budget, lower for a while after the store answered SlowDown. */
  request_rate: z.number().nullable(),
  scan_progress: z.object({
    started_at: z.string().describe('When the running scan started'),
    objects_listed: z.number().describe('Objects listed so far'),
    pages: z.number().describe('Listing pages so far'),
    ranges_done: z.number().describe('Key ranges listed to their end'),
    ranges_total: z.number().describe('Key ranges known so far (a split of a long range adds some)'),
    updated_at: z.string().describe('When the scan last wrote this (about every second)')
  }).nullable().describe('The scan running now, if any: how far it has got')
})

export const StatusAnswer = z.object({ buckets: z.array(BucketStatusEntry) })
export const BucketListAnswer = z.object({ buckets: z.array(PublicBucket) })
export const BucketAnswer = z.object({ bucket: PublicBucket, status: BucketStatusEntry })

// Plain decimal digits only: Number() would also read 0x10, 1e1, " 16" and "" as numbers.
export const queryInt = (min: number, max: number) => z.string().regex(/^[0-9]{1,10}$/, 'must be a decimal integer')
  .transform(Number).pipe(z.number().int().min(min).max(max))

export const DeadLetterQuery = z.object({
  offset: queryInt(0, 1_000_000).default(0),
  limit: queryInt(1, 500).default(50)
}).strict()
export const DeadLetterIdParams = z.object({ id: z.string().min(1).max(128) }).strict()
/** Replay or purge: either `ids` or `all: true`. */
export const DeadLetterSelection = z.object({
  ids: z.array(z.string().min(1).max(128)).min(1).max(1000).optional(),
  all: z.literal(true).optional()
}).strict().refine(b => (b.ids === undefined) !== (b.all === undefined), 'give either ids or all: true')
export const DeadLetterRecordSchema = z.object({
  id: z.string(),
  reason: z.string(),
  attempts: z.number(),
  last_status: z.number().nullable(),
  response_excerpt: z.string().nullable(),
  dead_at: z.string(),
  /** The subscription the delivery was for; a replay goes back to it only. */
  subscription: z.string().optional(),
  event: z.record(z.string(), z.unknown()).optional(),
  raw: z.string().optional()
})
export const DeadLetterListAnswer = z.object({ total: z.number(), offset: z.number(), limit: z.number(), items: z.array(DeadLetterRecordSchema) })
export const CountAnswer = z.object({ status: z.literal('success'), count: z.number() })

/**
 * The named schemas of the OpenAPI document (components.schemas), each with its description;
 * a route that uses one refers to it by name. `io`: a request body is described as sent, an
 * answer as received.
 */
export const SCHEMA_DOCS: Record<string, { schema: z.ZodType, io: 'input' | 'output', description: string }> = {
  TokenRequest: { schema: TokenRequest, io: 'input', description: 'Client credentials as a JSON body' },
  TokenForm: { schema: OAuthTokenForm, io: 'input', description: 'RFC 6749 section 4.4 client credentials as a form; the client may be in HTTP Basic instead' },
  TokenAnswer: { schema: TokenAnswer, io: 'output', description: 'A bearer token and the scopes it carries' },
  Error: { schema: ErrorAnswer, io: 'output', description: 'Every error answer: the message, the reason in a few words, and the field at fault when there is one' },
  AddBucket: { schema: AddBucketBody, io: 'input', description: 'A new bucket: its name, keys, endpoint (or region) and webhook; unknown fields are refused' },
  UpdateBucket: { schema: UpdateBucketBody, io: 'input', description: 'The bucket\'s name and the fields to change; null removes webhook_auth or signing_secret' },
  Resync: { schema: ResyncBody, io: 'input', description: 'Resync options; the same as the query\'s forget' },
  Replay: { schema: ReplayBody, io: 'input', description: 'The slice to re-announce: a last_modified window, a key prefix, one subscription; every field optional' },
  ReplayCount: { schema: ReplayAnswer, io: 'output', description: 'How many objects were re-announced' },
  Success: { schema: SuccessAnswer, io: 'output', description: 'A change was made' },
  Notification: { schema: NotificationAnswer, io: 'output', description: 'A bucket\'s notification switch after the change' },
  Status: { schema: StatusAnswer, io: 'output', description: 'Every bucket\'s status' },
  BucketList: { schema: BucketListAnswer, io: 'output', description: 'Every bucket' },
  BucketDetail: { schema: BucketAnswer, io: 'output', description: 'One bucket and its status' },
  DeadLetterSelection: { schema: DeadLetterSelection, io: 'input', description: 'Either ids or all: true' },
  DeadLetterPage: { schema: DeadLetterListAnswer, io: 'output', description: 'A page of dead letters, newest first' },
  Count: { schema: CountAnswer, io: 'output', description: 'How many entries the request changed' }
}
