import { test, before, after } from 'node:test'
import type { ServerResponse } from 'node:http'
import assert from 'node:assert/strict'
import { createNetworkPolicy } from '@internal/buckets'
import { startReceiver, type Receiver } from '../../../test/support/receiver.ts'
import { createGuardedAgent } from '../src/network-guard.ts'
import { postWebhook, webhookBody, type WebhookRequest } from '../src/deliver.ts'
import { signingKey } from '../src/signature.ts'
import { findDeliveryError, WebhookTimeoutError } from '../src/errors.ts'

let receiver: Receiver
const open = createNetworkPolicy(['127.0.0.0/8'])
const strict = createNetworkPolicy([])
const agent = createGuardedAgent(open, { connectTimeoutMs: 1000, connectionsPerOrigin: 4 })
const strictAgent = createGuardedAgent(strict, { connectTimeoutMs: 1000, connectionsPerOrigin: 4 })
before(async () => { receiver = await startReceiver() })
after(async () => { await agent.close(); await strictAgent.close(); await receiver.close() })

const queued = {
  event_id: 'ev1',
  bucket: 'b5k',
  key: 'seed/d0000/obj-0000001.dat',
  region: '127.0.0.1:4569',
  etag: 'c7a1',
  size: 256,
  last_modified: 1795303151,
  event_type: 'created',
  content_type: 'application/octet-stream',
  metadata: { seq: '1' },
  detection_time: 1795303289.83205,
  is_recent: true,
  retry_count: 0
}
const request = (url: string, extra: Partial<WebhookRequest> = {}): WebhookRequest => ({
  url: new URL(url), fields: queued, eventId: 'ev1', bucket: 'b5k', eventType: 'created', attempt: 1, requestId: 'req-1', ...extra
})
const now = () => Date.parse('2026-11-22T01:02:03.456Z')

test('the body is the queued event plus retry_count, request_id and delivery_attempt_time; headers as specified', async () => {
  const result = await postWebhook(request(receiver.url, { signingKey: signingKey('whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ='), token: 'tok' }),
    { dispatcher: agent, policy: open, timeoutMs: 2000, userAgent: 'watch-folder/1.0', now })
  assert.ok('status' in result)
  assert.deepEqual({ status: result.status, retryAfter: result.retryAfter }, { status: 200, retryAfter: null })
  await result.done
  const got = receiver.requests.at(-1)!
  assert.equal(got.method, 'POST')
  assert.equal(got.body, JSON.stringify({ ...queued, retry_count: 1, request_id: 'req-1', delivery_attempt_time: '2026-11-22T01:02:03.456Z' }))
  const h = got.headers
  assert.equal(h['content-type'], 'application/json')
  assert.equal(h['user-agent'], 'watch-folder/1.0')
  assert.equal(h['x-request-id'], 'req-1')
  assert.equal(h['x-bucket-name'], 'b5k')
  assert.equal(h['x-event-type'], 'created')
  assert.equal(h['webhook-id'], 'ev1')
  assert.equal(h['webhook-timestamp'], '1795309323')
  assert.match(String(h['webhook-signature']), /^v1,/)
  assert.equal(h.authorization, 'Bearer tok')
})

test('no signature header without a signing secret; Retry-After and an excerpt come back', async () => {
  receiver.respond = (_req, res) => { res.writeHead(503, { 'retry-after': '5' }); res.end('x'.repeat(3000)) }
  const result = await postWebhook(request(receiver.url), { dispatcher: agent, policy: open, timeoutMs: 2000, userAgent: 'ua', now })
  receiver.respond = (_req, res) => { res.statusCode = 200; res.end('ok') }
  assert.ok('status' in result)
  assert.equal(result.status, 503)
  assert.equal(result.retryAfter, '5')
  assert.equal(result.excerpt?.length, 1024)
  assert.equal(receiver.requests.at(-1)!.headers['webhook-signature'], undefined)
})

test('a hanging receiver times out as an error', async () => {
  receiver.respond = () => {}
  const started = Date.now()
  const result = await postWebhook(request(receiver.url), { dispatcher: agent, policy: open, timeoutMs: 300, userAgent: 'ua', now })
  receiver.respond = (_req, res) => { res.statusCode = 200; res.end('ok') }
  assert.ok('error' in result)
  assert.ok(result.error instanceof WebhookTimeoutError, String(result.error))
  assert.ok(Date.now() - started < 2000)
})

test('one deadline: a 2xx is final at its status line, a trickled body never holds the attempt past webhook.timeout', async () => {
  const trickle = (status: number) => (_req: unknown, res: ServerResponse) => {
    res.writeHead(status)
    const timer = setInterval(() => res.write('.'), 50)
    res.on('close', () => clearInterval(timer))
  }
  receiver.respond = trickle(200)
  let started = Date.now()
  const accepted = await postWebhook(request(receiver.url), { dispatcher: agent, policy: open, timeoutMs: 600, userAgent: 'ua', now })
  assert.ok('status' in accepted && accepted.status === 200)
  assert.ok(Date.now() - started < 300, `2xx came back after ${Date.now() - started} ms`)
  await accepted.done
  assert.ok(Date.now() - started < 1000, `2xx body dropped after ${Date.now() - started} ms`)
  receiver.respond = trickle(503)
  started = Date.now()
  const refused = await postWebhook(request(receiver.url), { dispatcher: agent, policy: open, timeoutMs: 600, userAgent: 'ua', now })
  receiver.respond = (_req, res) => { res.statusCode = 200; res.end('ok') }
  assert.ok('status' in refused && refused.status === 503, 'the status decides, not the cut-short excerpt')
  assert.ok(Date.now() - started < 1000, `503 took ${Date.now() - started} ms`)
})

test('SSRF: a loopback literal and a name resolving to loopback are refused unless allowed, and nothing is sent', async () => {
  const count = receiver.requests.length
  const literal = await postWebhook(request(receiver.url), { dispatcher: strictAgent, policy: strict, timeoutMs: 1000, userAgent: 'ua', now })
  assert.ok('error' in literal)
  assert.equal(findDeliveryError(literal.error)?.code, 'ADDRESS_REFUSED')
  const byName = await postWebhook(request(receiver.url.replace('127.0.0.1', 'localhost')), { dispatcher: strictAgent, policy: strict, timeoutMs: 1000, userAgent: 'ua', now })
  assert.ok('error' in byName)
  assert.equal(findDeliveryError(byName.error)?.code, 'ADDRESS_REFUSED')
  assert.equal(receiver.requests.length, count)
})

test('the body built from the entry text equals the serialised fields, first attempt or retry', () => {
  const first = request('http://127.0.0.1/x', { fields: queued, raw: JSON.stringify(queued) })
  const fast = webhookBody(first, now())
  assert.equal(fast, JSON.stringify({ ...queued, retry_count: 1, request_id: 'req-1', delivery_attempt_time: '2026-11-22T01:02:03.456Z' }))
  const { retry_count: _r, ...monitorWritten } = queued
  const fromMonitor = webhookBody(request('http://127.0.0.1/x', { fields: monitorWritten, raw: ` ${JSON.stringify(monitorWritten)}\n` }), now())
  assert.deepEqual(JSON.parse(fromMonitor), { ...monitorWritten, retry_count: 1, request_id: 'req-1', delivery_attempt_time: '2026-11-22T01:02:03.456Z' })
  assert.equal(fromMonitor, ` ${JSON.stringify({ ...monitorWritten, retry_count: 1, request_id: 'req-1', delivery_attempt_time: '2026-11-22T01:02:03.456Z' })}`)
  const retried = { ...monitorWritten, retry_count: 2, request_id: 'req-1' }
  const again = webhookBody(request('http://127.0.0.1/x', { fields: retried, raw: JSON.stringify(retried), attempt: 3 }), now())
  assert.equal(again, JSON.stringify({ ...retried, retry_count: 3, request_id: 'req-1', delivery_attempt_time: '2026-11-22T01:02:03.456Z' }))
})

test('an answer echoing the request never puts the bearer token into the excerpt', async () => {
  receiver.respond = (req, res) => { res.statusCode = 400; res.end(JSON.stringify({ echoed: req.headers.authorization, again: 'secret-token-value' })) }
  const result = await postWebhook(request(receiver.url, { token: 'secret-token-value' }), { dispatcher: agent, policy: open, timeoutMs: 2000, userAgent: 'ua', now })
  receiver.respond = (_req, res) => { res.statusCode = 200; res.end('ok') }
  assert.ok('status' in result && result.status === 400)
  const excerpt = 'status' in result ? result.excerpt ?? '' : ''
  assert.ok(!excerpt.includes('secret-token-value'), excerpt)
  assert.match(excerpt, /REDACTED/)
})
