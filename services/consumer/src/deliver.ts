import { request, type Dispatcher } from 'undici'
import type { NetworkPolicy } from '@internal/buckets'
import { EXCERPT_MAX_BYTES } from '@internal/redis'
import { assertUrlAllowed } from './network-guard.ts'
import { formatWebhook, webhookHeaders as standardHeaders, type FormatContext, type OriginalFields, type WebhookFormat } from '@internal/events'
import type { AttemptResult } from './classify.ts'
import { WebhookTimeoutError } from './errors.ts'

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
  /** One signing key (as a bucket's signing_secret always had)... */
  signingKey?: Buffer | undefined
  /** ...or several: every one signs. */
  signingKeys?: Buffer[] | undefined
  /** The subscription's format (default `original`) and what the s3 and cloudevents formats name. */
  format?: WebhookFormat | undefined
  formatContext?: FormatContext | undefined
  token?: string | undefined
}

export interface PostOptions {
  dispatcher: Dispatcher
  policy: NetworkPolicy
  timeoutMs: number
  userAgent: string
  now: () => number
}

// The start of a refusal's answer, as the attempt history and the dead-letter list keep it.
const EXCERPT_BYTES = EXCERPT_MAX_BYTES
const DRAIN_BYTES = 64 * 1024

const ADDED_FIELDS = ['retry_count', 'request_id', 'delivery_attempt_time'] as const

/** The body: the queued fields plus what the Python consumer added (kept so its receivers parse it unchanged). */
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
  const signingKeys = req.signingKeys ?? (req.signingKey ? [req.signingKey] : [])
  return standardHeaders({ requestId: req.requestId, bucket: req.bucket, eventType: req.eventType, eventId: req.eventId, userAgent, signingKeys, token: req.token }, body, nowMs)
}

/** The body and headers in the request's format; the signature covers the body as sent. */
export function formattedWebhook (req: WebhookRequest, nowMs: number, userAgent: string): { body: string, headers: Record<string, string> } {
  const original = webhookBody(req, nowMs)
  const format = req.format ?? 'original'
  if (format === 'original' || !req.formatContext) return { body: original, headers: webhookHeaders(req, original, nowMs, userAgent) }
  const fields = { ...req.fields, retry_count: req.attempt, request_id: req.requestId } as unknown as OriginalFields
  const { body, headers } = formatWebhook(format, original, fields, req.formatContext)
  return { body, headers: { ...webhookHeaders(req, body, nowMs, userAgent), ...headers } }
}

/**
 * One POST; never throws: an error before any answer comes back as `{ error }`. One deadline
 * covers the connect, the answer's headers and the excerpt read: a receiver that trickles its
 * answer holds a worker no longer than a receiver that never answers. A 2xx is final as soon
 * as its status line arrives; its body is drained (or dropped) in the background, within the
 * same deadline, and `done` says when the connection is free again.
 */
export async function postWebhook (req: WebhookRequest, { dispatcher, policy, timeoutMs, userAgent, now }: PostOptions): Promise<AttemptResult> {
  const deadline = startDeadline(timeoutMs)
  try {
    assertUrlAllowed(req.url, policy)
    const { body, headers } = formattedWebhook(req, now(), userAgent)
    const res = await request(req.url, { method: 'POST', dispatcher, headers, body, signal: deadline.signal })
    const retryAfter = res.headers['retry-after']
    const answer = { status: res.statusCode, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter ?? null }
    if (res.statusCode >= 200 && res.statusCode < 300) {
      // The receiver accepted the event: nothing it sends after the status line changes that.
      const done = res.body.dump({ limit: DRAIN_BYTES }).then(() => {}, () => {}).finally(deadline.clear)
      // A short body usually came with the headers: waiting one turn of the event loop for it
      // frees the connection now, so the next event for this endpoint is not deferred.
      const drained = await Promise.race([done.then(() => true), new Promise<boolean>(resolve => setImmediate(resolve, false))])
      return drained ? { ...answer, excerpt: '' } : { ...answer, excerpt: '', done }
    }
    const excerpt = await readExcerpt(res.body)
    deadline.clear()
    return { ...answer, excerpt: scrubExcerpt(excerpt, req.token) }
  } catch (err) {
    deadline.clear()
    return { error: deadline.signal.aborted ? deadline.signal.reason as Error : err as Error }
  }
}

/** An abort signal fired `timeoutMs` from now, with a plain timer (cheaper than AbortSignal.timeout). */
function startDeadline (timeoutMs: number) {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(new WebhookTimeoutError(timeoutMs)), timeoutMs)
  return { signal: controller.signal, clear: () => clearTimeout(timer) }
}

// The excerpt is kept in the dead-letter list and shown by the API: a receiver that echoes
// the request must not put our bearer token there.
function scrubExcerpt (excerpt: string, token: string | undefined): string {
  const scrubbed = token ? excerpt.replaceAll(token, '[REDACTED]') : excerpt
  return scrubbed.replace(/(bearer\s+)[^\s"',;]+/gi, '$1[REDACTED]')
}

// Reads the start of a refusal for the dead-letter record, within the request's deadline. An
// answer that ends within the excerpt leaves the connection reusable; a longer one closes it,
// and a body cut short by the deadline keeps what arrived: the status alone decides the outcome.
async function readExcerpt (body: AsyncIterable<Buffer> & { destroy (): void }): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of body) {
      chunks.push(chunk)
      size += chunk.length
      if (size >= EXCERPT_BYTES) { body.destroy(); break }
    }
  } catch {}
  return Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8')
}
