import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { signWebhook, signingKey } from '../src/signature.ts'
import { webhookBody, webhookHeaders, type WebhookRequest } from '../src/deliver.ts'

const request = (key: Buffer): WebhookRequest => ({
  url: new URL('https://example.com/hook'),
  fields: { event_id: 'e1', bucket: 'b', key: 'k' },
  eventId: 'e1',
  bucket: 'b',
  eventType: 'created',
  attempt: 1,
  requestId: 'r1',
  signingKey: key
})

test('a whsec_ secret signs as Standard Webhooks defines: verified by the standardwebhooks package', () => {
  const secret = `whsec_${randomBytes(24).toString('base64')}`
  const now = Date.now()
  const req = request(signingKey(secret))
  const body = webhookBody(req, now)
  const headers = webhookHeaders(req, body, now, 'ua')
  assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body))
  assert.throws(() => new Webhook(secret).verify(body.replace('"k"', '"x"'), headers))
})

test('a raw secret is used as its UTF-8 bytes: verified with the raw format', () => {
  const secret = 'a-plain-signing-secret-of-32-chars'
  const now = Date.now()
  const req = request(signingKey(secret))
  const body = webhookBody(req, now)
  const headers = webhookHeaders(req, body, now, 'ua')
  assert.ok(new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' }).verify(body, headers))
})

test('signature format is v1,<base64 HMAC-SHA256 of id.timestamp.body>', () => {
  const sig = signWebhook(Buffer.from('key'), 'msg_1', 1700000000, '{}')
  assert.match(sig, /^v1,[A-Za-z0-9+/]{43}=$/)
  assert.equal(sig, new Webhook(Buffer.from('key'), { format: 'raw' }).sign('msg_1', new Date(1700000000 * 1000), '{}'))
})
