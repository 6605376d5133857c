import { z } from 'zod'
import { Affix, BucketName, HttpUrl, RetrySchedule, SubscriptionFormat, SubscriptionId, UsablePattern, WebhookAuthInput } from '@internal/buckets'
import { EventType } from '@internal/events'

// Request and answer schemas of the subscription routes (the handlers parse with them and the
// OpenAPI document is generated from them).

const Events = z.array(EventType).min(1).max(EventType.options.length)
  .refine(list => new Set(list).size === list.length, 'must not repeat an event type')
const Patterns = z.array(UsablePattern).max(100)
/** A Standard Webhooks secret (`whsec_` + base64) or any string of 16+ characters, as a bucket's signing_secret. */
const SigningSecret = z.string().min(16).max(4096)
const SigningSecrets = z.array(SigningSecret).min(1).max(10)

export const CreateSubscriptionBody = z.object({
  id: SubscriptionId.optional(),
  webhook_url: HttpUrl,
  events: Events.optional(),
  prefix: Affix.optional(),
  suffix: Affix.optional(),
  include: Patterns.optional(),
  exclude: Patterns.optional(),
  format: SubscriptionFormat.optional(),
  webhook_auth: WebhookAuthInput.optional(),
  signing_secrets: SigningSecrets.optional(),
  enabled: z.boolean().optional(),
  /** Waits between attempts, seconds (±20 % jitter), instead of webhook.retry_schedule. */
  retry_schedule: RetrySchedule.optional()
}).strict()
export type CreateSubscriptionBody = z.infer<typeof CreateSubscriptionBody>

/** Any field but `id`; `null` removes an optional one (a filter, webhook_auth, signing_secrets). */
export const PatchSubscriptionBody = z.object({
  webhook_url: HttpUrl.optional(),
  events: Events.optional(),
  prefix: Affix.nullable().optional(),
  suffix: Affix.nullable().optional(),
  include: Patterns.nullable().optional(),
  exclude: Patterns.nullable().optional(),
  format: SubscriptionFormat.optional(),
  webhook_auth: WebhookAuthInput.nullable().optional(),
  signing_secrets: SigningSecrets.nullable().optional(),
  enabled: z.boolean().optional(),
  retry_schedule: RetrySchedule.nullable().optional()
}).strict().refine(b => Object.keys(b).length > 0, 'give at least one field to change')
export type PatchSubscriptionBody = z.infer<typeof PatchSubscriptionBody>

export const SubscriptionListParams = z.object({ name: BucketName }).strict()
export const SubscriptionParams = z.object({ name: BucketName, id: SubscriptionId }).strict()

export const SubscriptionAnswer = z.object({
  id: z.string(),
  webhook_url: z.string(),
  events: z.array(EventType),
  prefix: z.string().optional(),
  suffix: z.string().optional(),
  include: z.array(z.string()).optional(),
  exclude: z.array(z.string()).optional(),
  format: SubscriptionFormat,
  webhook_auth: z.object({ type: z.literal('oauth2'), client_id: z.string(), token_url: z.string(), scope: z.string().optional() }).optional(),
  /** How many signing secrets sign (the secrets themselves are never shown). */
  signing_secret_count: z.number().optional(),
  enabled: z.boolean(),
  retry_schedule: z.array(z.number()).optional(),
  /** Delivery state (GET of one subscription, enable, disable, PATCH): disabled by a 410 (gone), failing for webhook.disable_after, or an operator. */
  state: z.enum(['active', 'disabled']).optional(),
  disabled_reason: z.enum(['gone', 'failing', 'operator']).nullable().optional(),
  /** Events parked while disabled, delivered by enable. */
  parked: z.number().int().optional(),
  /** The default subscription delivers to webhook.url because the bucket has no webhook_url. */
  inherited: z.boolean().optional(),
  created_at: z.string().optional(),
  updated_at: z.string().optional()
})
export const SubscriptionListAnswer = z.object({ subscriptions: z.array(SubscriptionAnswer) })
export const TestAnswer = z.object({ delivered: z.boolean(), status: z.number().nullable(), duration_ms: z.number(), error: z.string().optional() })
