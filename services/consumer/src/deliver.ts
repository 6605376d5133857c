import { request, type Dispatcher } from 'undici'
import type { NetworkPolicy } from '@internal/buckets'
import { assertUrlAllowed } from './network-guard.ts'
import { signWebhook } from './signature.ts'
import type { AttemptResult } from './classify.ts'

export interface WebhookRequest {
  url: URL
  /** The event's fields exactly as queued (parsed from the entry, order kept). */
  fields: Record<string, unknown>
  /** The entry's text, when `fields` was parsed from it. */
  raw?: string | undefined
  eventId: string
  bucket: string
  eventType: string
  attempt: number
  requestId: string
  signingKey?: Buffer | undefined
  token?: string | undefined
}

export interface PostOptions {
  dispatcher: Dispatcher
  policy: NetworkPolicy
  timeoutMs: number
  userAgent: string
  now: () => number
}

const EXCERPT_BYTES = 256
const DRAIN_BYTES = 64 * 1024

const ADDED_FIELDS = ['retry_count', 'request_id', 'delivery_attempt_time'] as const

/** The body: the queued fields plus what the original consumer added. */
export function webhookBody (req: WebhookRequest, nowMs: number): string {
  const added = { retry_count: req.attempt, request_id: req.requestId, delivery_attempt_time: new Date(nowMs).toISOString() }
  // First attempt of a monitor-written entry (none of the added fields yet): append them to
  // the entry's own text, which keeps it byte for byte and skips re-serialising the event.
  const tail = req.raw?.lastIndexOf('}') ?? -1
  if (req.raw && tail > 0 && ADDED_FIELDS.every(f => !(f in req.fields))) {
    const empty = Object.keys(req.fields).length === 0
    return `${req.raw.slice(0, tail)}${empty ? '' : ','}${JSON.stringify(added).slice(1)}`
  }
  return JSON.stringify({ ...req.fields, ...added })
}

export function webhookHeaders (req: WebhookRequest, body: string, nowMs: number, userAgent: string): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000)
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': userAgent,
    'x-request-id': req.requestId,
    'x-bucket-name': req.bucket,
    'x-event-type': req.eventType,
    'webhook-id': req.eventId,
    'webhook-timestamp': String(timestamp)
  }
  if (req.signingKey) headers['webhook-signature'] = signWebhook(req.signingKey, req.eventId, timestamp, body)
  if (req.token) headers.authorization = `Bearer ${req.token}`
  return headers
}

/** One POST; never throws: an error before any answer comes back as `{ error }`. */
export async function postWebhook (req: WebhookRequest, { dispatcher, policy, timeoutMs, userAgent, now }: PostOptions): Promise<AttemptResult> {
  try {
    assertUrlAllowed(req.url, policy)
    const nowMs = now()
    const body = webhookBody(req, nowMs)
    const res = await request(req.url, {
      method: 'POST',
      dispatcher,
      headers: webhookHeaders(req, body, nowMs, userAgent),
      body,
      // undici's own timers: no answer within the timeout, or a pause that long in the body.
      // (An AbortSignal.timeout per request cost about 3% of the CPU at thousands per second.)
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs
    })
    // An empty answer (the usual 204, or a 200 without content) is drained without the
    // async iterator's cost. A 2xx whose body then stalls or breaks is still delivered:
    // the receiver accepted the event, and reading it as an error would deliver it again.
    const empty = res.statusCode === 204 || res.headers['content-length'] === '0'
    const accepted = res.statusCode >= 200 && res.statusCode < 300
    const excerpt = empty ? (await res.body.dump(), '') : await readExcerpt(res.body).catch(err => { if (accepted) return ''; throw err })
    const retryAfter = res.headers['retry-after']
    return { status: res.statusCode, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter ?? null, excerpt: scrubExcerpt(excerpt, req.token) }
  } catch (err) {
    return { error: err as Error }
  }
}

// The excerpt is kept in the dead-letter list and shown by the API: a receiver that echoes
// the request must not put our bearer token there.
function scrubExcerpt (excerpt: string, token: string | undefined): string {
  const scrubbed = token ? excerpt.replaceAll(token, '[REDACTED]') : excerpt
  return scrubbed.replace(/(bearer\s+)[^\s"',;]+/gi, '$1[REDACTED]')
}

// Reads the start of the answer for the dead-letter record and drains a modest rest so the
// connection goes back to the pool; a huge answer closes the connection instead.
async function readExcerpt (body: AsyncIterable<Buffer> & { destroy (): void }): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    if (size < EXCERPT_BYTES) chunks.push(chunk)
    size += chunk.length
    if (size > DRAIN_BYTES) { body.destroy(); break }
  }
  return Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8')
}
