import { z } from 'zod'
import { BucketName } from '@internal/buckets'
import { EventType } from '@internal/events'
import { queryInt } from './schemas.ts'

// GET /api/events/{event_id}, GET /api/buckets/{name}/events and GET /api/activity.

export const DeliveryState = z.enum(['delivered', 'scheduled', 'in_flight', 'parked', 'dead'])

/** ISO 8601 (with a date) or epoch seconds, as epoch ms. */
export function parseInstant (text: string): number | undefined {
  const v = text.trim()
  if (/^[0-9]{1,12}(\.[0-9]{1,6})?$/.test(v)) return Number(v) * 1000
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}/.test(v)) return undefined
  const ms = Date.parse(v)
  return Number.isNaN(ms) ? undefined : ms
}

const Instant = z.string().max(64)
  .refine(v => parseInstant(v) !== undefined, 'must be an ISO 8601 time or epoch seconds')
  .transform(v => parseInstant(v)!)

const Cursor = z.string().max(256).regex(/^[A-Za-z0-9_-]+$/, 'must be a cursor from a previous page')
  .transform(v => Buffer.from(v, 'base64url').toString('utf8'))
  .refine(v => /^[0-9]{13}:[^\s]+$/.test(v), 'must be a cursor from a previous page')

export const EventIdParams = z.object({ event_id: z.string().min(1).max(128) }).strict()
export const BucketEventsParams = z.object({ name: BucketName }).strict()
export const BucketEventsQuery = z.object({
  since: Instant.optional(),
  until: Instant.optional(),
  type: EventType.optional(),
  state: DeliveryState.optional(),
  limit: queryInt(1, 500).default(50),
  cursor: Cursor.optional()
}).strict()
export const ActivityQuery = z.object({
  bucket: z.string().min(1).max(255).optional(),
  subscription: z.string().min(1).max(128).optional()
}).strict()

export const AttemptAnswer = z.object({
  at: z.string().describe('ISO 8601 start of the request'),
  status: z.number().int().nullable().describe('the receiver\'s HTTP status; null when no answer came'),
  duration_ms: z.number(),
  error: z.string().nullable().describe('why no answer came, or null'),
  excerpt: z.string().nullable().describe('the start of the answer (at most 1 KiB, credentials replaced)')
})
export const DeliveryAnswer = z.object({
  subscription: z.string(),
  state: DeliveryState,
  next_at: z.string().optional().describe('ISO 8601 time of the next attempt (scheduled)'),
  reason: z.string().optional().describe('why it is parked or dead'),
  attempts: z.array(AttemptAnswer).describe('the last 20 attempts, oldest first')
})
export const EventAnswer = z.object({
  event: z.record(z.string(), z.unknown()).describe('the event\'s fields as queued'),
  deliveries: z.array(DeliveryAnswer)
})
export const EventSummary = z.object({
  event: z.record(z.string(), z.unknown()),
  detected_at: z.string().nullable(),
  deliveries: z.array(z.object({
    subscription: z.string(),
    state: DeliveryState,
    attempt_count: z.number().int(),
    last_status: z.number().int().nullable(),
    next_at: z.string().optional(),
    reason: z.string().optional()
  }))
})
export const EventListAnswer = z.object({
  events: z.array(EventSummary),
  next_cursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last')
})
