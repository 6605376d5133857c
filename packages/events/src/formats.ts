/**
 * The bodies and extra headers of the three webhook formats. `original` is the body as it
 * always was; `s3` wraps it in the S3 event notification shape that Lambda, MinIO and RGW
 * handlers parse; `cloudevents` sends it in CloudEvents 1.0 binary content mode. A replayed
 * event's `"replay": true` is in the original body, which both other formats carry whole (the
 * s3 record's `watchFolder` field, the CloudEvent's data); CloudEvents also gets `ce-replay`.
 */

/** ce-type is this prefix plus the event type (`created`, `updated`, `detected`, `deleted`, `test`). */
export const CE_TYPE_PREFIX = 'com.watch-folder.object.'
/** The record field of the `s3` format that carries the original body, so nothing is lost. */
export const S3_EXTRA_FIELD = 'watchFolder'

export type WebhookFormat = 'original' | 's3' | 'cloudevents'

export interface FormatContext {
  /** The subscription id: the s3 format's configurationId. */
  subscription: string
  /** The s3 format's awsRegion (the bucket's signing region). */
  awsRegion: string
  /** ce-source: the store endpoint and the bucket, as a URI reference. */
  source: string
}

/** What the formats read of the original body (the queued event plus the per-attempt fields). */
export interface OriginalFields {
  event_id: string
  bucket: string
  key: string
  etag: string
  size: number
  last_modified: number
  detection_time: number
  event_type: string
  request_id: string
  /** An event re-announced from the recorded state (the original body says `"replay": true`). */
  replay?: boolean
}

export interface Formatted { body: string, headers: Record<string, string> }

export function formatWebhook (format: WebhookFormat, originalBody: string, fields: OriginalFields, ctx: FormatContext): Formatted {
  if (format === 's3') return { body: s3Body(originalBody, fields, ctx), headers: {} }
  if (format === 'cloudevents') return { body: originalBody, headers: cloudEventHeaders(fields, ctx) }
  return { body: originalBody, headers: {} }
}

/** S3's key encoding in notifications: form-style per path segment (`/` kept), a space as `+`. */
export function s3KeyEncode (key: string): string {
  return key.split('/').map(part => encodeURIComponent(part).replace(/%20/g, '+').replace(/[!'()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/')
}

function eventName (type: string): string {
  if (type === 'deleted') return 'ObjectRemoved:Delete'
  if (type === 'test') return 's3:TestEvent'
  return 'ObjectCreated:Put'
}

// When the change happened: the object's own time while it exists, the scan's for a delete.
function eventTimeMs (fields: OriginalFields): number {
  return (fields.event_type === 'deleted' ? fields.detection_time : fields.last_modified) * 1000
}

function s3Body (originalBody: string, fields: OriginalFields, ctx: FormatContext): string {
  const deleted = fields.event_type === 'deleted'
  const object = {
    key: s3KeyEncode(fields.key),
    ...(!deleted && { size: fields.size, eTag: fields.etag }),
    // S3's sequencer orders events of one key: a hex string that grows with the change's time.
    sequencer: Math.round(eventTimeMs(fields)).toString(16).toUpperCase().padStart(16, '0')
  }
  const record = {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: ctx.awsRegion,
    eventTime: new Date(eventTimeMs(fields)).toISOString(),
    eventName: eventName(fields.event_type),
    userIdentity: { principalId: 'watch-folder' },
    requestParameters: { sourceIPAddress: '' },
    responseElements: { 'x-amz-request-id': fields.request_id, 'x-amz-id-2': fields.event_id },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: ctx.subscription,
      bucket: { name: fields.bucket, ownerIdentity: { principalId: 'watch-folder' }, arn: `arn:aws:s3:::${fields.bucket}` },
      object
    }
  }
  // The original body is spliced in as it is: the same bytes the original format sends.
  const text = JSON.stringify(record)
  return `{"Records":[${text.slice(0, -1)},${JSON.stringify(S3_EXTRA_FIELD)}:${originalBody}}]}`
}

// CloudEvents' HTTP binding: header values outside printable ASCII, a space, `"` and `%` are
// percent-encoded as UTF-8 (an object key may hold any of them).
function headerValue (value: string): string {
  return Array.from(value, c => /[\x21-\x7e]/.test(c) && c !== '"' && c !== '%'
    ? c
    : Array.from(new TextEncoder().encode(c), b => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')).join('')
}

// A replayed event also carries the `replay` extension attribute (CloudEvents extension names
// are lower-case letters and digits), so a receiver can tell it without reading the data.
function cloudEventHeaders (fields: OriginalFields, ctx: FormatContext): Record<string, string> {
  return {
    'ce-specversion': '1.0',
    'ce-id': fields.event_id,
    'ce-source': ctx.source,
    'ce-type': `${CE_TYPE_PREFIX}${fields.event_type}`,
    'ce-subject': headerValue(fields.key),
    'ce-time': new Date(eventTimeMs(fields)).toISOString(),
    ...(fields.replay === true && { 'ce-replay': 'true' })
  }
}
