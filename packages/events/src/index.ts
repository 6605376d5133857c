import { hash } from 'node:crypto'
import { z } from 'zod'

export const EventType = z.enum(['created', 'updated', 'detected', 'deleted'])
export type EventType = z.infer<typeof EventType>

/**
 * A field the consumer sends as an HTTP header (webhook-id, X-Request-ID, X-Bucket-Name).
 * A control character there is refused by the HTTP client on every attempt, or would split
 * the header, so such an entry is malformed from the start rather than worth a retry.
 */
const HeaderText = z.string().regex(/^\P{Cc}*$/u, 'must not contain control characters')

/**
 * One change of one object, as the monitor writes it on the queue: the Python monitor's payload
 * fields exactly, plus `event_id`. The consumer adds `retry_count`, `request_id` and
 * `delivery_attempt_time` when it delivers.
 */
export const ChangeEvent = z.object({
  event_id: HeaderText.min(1),
  bucket: HeaderText.min(1),
  key: z.string().min(1),
  /** The endpoint host, as the Python monitor sends it (not a region id). */
  region: z.string(),
  etag: z.string(),
  size: z.number().int().nonnegative(),
  /** Epoch seconds. */
  last_modified: z.number(),
  event_type: EventType,
  content_type: z.string(),
  metadata: z.record(z.string(), z.string()),
  /** Epoch seconds at which the scan saw the change. */
  detection_time: z.number(),
  is_recent: z.boolean(),
  /** Only when HeadObject kept failing: its error; content_type and metadata are then the defaults. */
  head_error: z.string().optional(),
  /**
   * Only on an event re-announced from the recorded state (POST /api/buckets/{name}/replay):
   * a new message with its own event_id, content_type and metadata the defaults.
   */
  replay: z.literal(true).optional()
})
export type ChangeEvent = z.infer<typeof ChangeEvent>

/** What the consumer keeps on a queued event between attempts. */
export const DeliveryFields = z.object({
  retry_count: z.number().int().nonnegative().default(0),
  request_id: HeaderText.optional(),
  /**
   * The subscription this entry is for. An entry the monitor wrote has none: the consumer
   * then delivers it to every subscription it matches (one tagged entry each).
   */
  subscription: HeaderText.min(1).max(63).optional()
})

export const QueuedEvent = ChangeEvent.extend(DeliveryFields.shape).loose()
export type QueuedEvent = z.infer<typeof QueuedEvent>

/**
 * The same change always gets the same id, whoever detects it and however often:
 * it hashes what identifies the change, never when or by whom it was seen. `epoch` starts a
 * new series of ids for the same changes (a resync that forgets the state, a replay), so a
 * receiver deduplicating on webhook-id takes the re-announcement; without it the id is the
 * one every earlier version of the service gave.
 */
export function eventId (change: { bucket: string, key: string, etag: string, last_modified: number, event_type: EventType }, epoch?: string): string {
  const kind = change.event_type === 'deleted' ? 'deleted' : 'present'
  const parts = [change.bucket, change.key, change.etag, String(change.last_modified), kind]
  if (epoch) parts.push(epoch)
  return hash('sha256', parts.join('\0'), 'hex').slice(0, 32) // one-shot: no Hash object per event
}

/** Seconds within which an object first seen counts as `created` rather than `detected`. */
export const RECENT_SECONDS = 86_400

export function isRecent (lastModifiedSec: number, nowSec: number): boolean {
  return nowSec - lastModifiedSec <= RECENT_SECONDS
}

export function encodeEvent (event: ChangeEvent | QueuedEvent): string {
  return JSON.stringify(event)
}

export type DecodeResult =
  /** `fields`: the entry's JSON as written, without the fields the check adds or drops. */
  | { ok: true, event: QueuedEvent, fields: Record<string, unknown> }
  | { ok: false, reason: string }

/** Parses a raw queue entry; a malformed one yields the reason instead of throwing. */
export function decodeEvent (raw: string): DecodeResult {
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` }
  }
  const parsed = QueuedEvent.safeParse(withEventId(json))
  if (parsed.success) return { ok: true, event: parsed.data, fields: json as Record<string, unknown> }
  const reason = parsed.error.issues.map(i => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
  return { ok: false, reason }
}

// Entries the Python monitor left on the queue have no event_id: derive it from the
// change, as our monitor would have, so an upgrade delivers them instead of parking them.
function withEventId (json: unknown): unknown {
  if (json === null || typeof json !== 'object' || 'event_id' in json) return json
  const change = ChangeEvent.omit({ event_id: true }).safeParse(json)
  return change.success ? { ...json, event_id: eventId(change.data) } : json
}

export { signingKey, signWebhook, signatureHeader } from './signature.ts'
export { formatWebhook, s3KeyEncode, CE_TYPE_PREFIX, S3_EXTRA_FIELD, type WebhookFormat, type FormatContext, type OriginalFields, type Formatted } from './formats.ts'
export { webhookHeaders, type HeaderInput } from './headers.ts'
