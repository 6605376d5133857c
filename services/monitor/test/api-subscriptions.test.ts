import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Webhook } from 'standardwebhooks'
import { OAuth2Server } from 'oauth2-mock-server'
import { startApi, acceptKey, type Harness } from './api-harness.ts'
import { startReceiver, type Receiver } from '../../../test/support/receiver.ts'

let h: Harness
let auth: Record<string, string>
let receiver: Receiver
const SECRET_A = 'whsec_' + Buffer.from('first-signing-secret-32-bytes!!!').toString('base64')
const SECRET_B = 'whsec_' + Buffer.from('second-signing-secret-32-bytes!!').toString('base64')

before(async () => {
  [h, receiver] = await Promise.all([startApi({ checkCredentials: acceptKey('AK') }), startReceiver()])
  h.clock.now = Date.now() // receivers check the signature's timestamp against their own clock
  auth = { authorization: `Bearer ${await h.token()}` }
  const add = await h.app.inject({ method: 'POST', url: '/api/buckets/add', headers: auth, payload: { name: 'photos', access_key: 'AK', secret_key: 'SK', endpoint: 'http://127.0.0.1:9', webhook_url: receiver.url } })
  assert.equal(add.statusCode, 201, add.body)
})
after(async () => { await receiver.close(); await h.close() })

const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers = auth) =>
  h.app.inject({ method, url, headers, ...(payload !== undefined && { payload: payload as object }) })

test('subscriptions: create (201, no secret), list with default first, get, patch, enable/disable, 404, 409 and 400 naming the field', async () => {
  const created = await call('POST', '/api/buckets/photos/subscriptions', {
    id: 'thumbs',
    webhook_url: receiver.url,
    events: ['created', 'updated'],
    suffix: '.jpg',
    format: 's3',
    signing_secrets: [SECRET_A, SECRET_B],
    webhook_auth: { type: 'oauth2', client_id: 'cid', client_secret: 'client-secret-value', token_url: 'http://127.0.0.1:9/token' }
  })
  assert.equal(created.statusCode, 201, created.body)
  assert.deepEqual({ ...created.json() as object, created_at: undefined }, {
    id: 'thumbs',
    webhook_url: receiver.url,
    events: ['created', 'updated'],
    suffix: '.jpg',
    format: 's3',
    enabled: true,
    signing_secret_count: 2,
    webhook_auth: { type: 'oauth2', client_id: 'cid', token_url: 'http://127.0.0.1:9/token' },
    created_at: undefined
  })
  for (const secret of [SECRET_A, SECRET_B, 'client-secret-value']) {
    assert.ok(!created.body.includes(secret))
    assert.ok(!JSON.stringify(await dumpRedis(h)).includes(secret), 'no secret in Redis in plaintext')
  }
  const generated = await call('POST', '/api/buckets/photos/subscriptions', { webhook_url: receiver.url, events: ['deleted'], format: 'cloudevents' })
  assert.equal(generated.statusCode, 201)
  assert.match(generated.json().id, /^[a-z0-9][a-z0-9-]{0,62}$/)

  const list = await call('GET', '/api/buckets/photos/subscriptions', undefined, { authorization: `Bearer ${await h.token('read')}` })
  assert.equal(list.statusCode, 200)
  assert.deepEqual(list.json().subscriptions.map((s: { id: string }) => s.id), ['default', 'thumbs', generated.json().id])
  assert.equal(list.json().subscriptions[0].webhook_url, receiver.url)
  assert.deepEqual(list.json().subscriptions[0].events, ['created', 'updated', 'detected', 'deleted'])

  assert.equal((await call('POST', '/api/buckets/photos/subscriptions', { id: 'thumbs', webhook_url: receiver.url })).statusCode, 409)
  assert.equal((await call('POST', '/api/buckets/photos/subscriptions', { id: 'default', webhook_url: receiver.url })).statusCode, 409)
  assert.equal((await call('GET', '/api/buckets/nope-bucket/subscriptions')).statusCode, 404)
  assert.equal((await call('GET', '/api/buckets/photos/subscriptions/missing')).statusCode, 404)
  assert.equal((await call('PATCH', '/api/buckets/photos/subscriptions/missing', { enabled: false })).statusCode, 404)
  const bad = await call('POST', '/api/buckets/photos/subscriptions', { webhook_url: receiver.url, events: ['made'] })
  assert.equal(bad.statusCode, 400)
  assert.equal(bad.json().field, 'events.0')
  const badGlob = await call('POST', '/api/buckets/photos/subscriptions', { webhook_url: receiver.url, include: ['*a*a*a*b'] })
  assert.equal(badGlob.statusCode, 400)
  assert.match(badGlob.json().error, /include\.0.*\*a\*a\*a\*b/)
  const ssrf = await call('POST', '/api/buckets/photos/subscriptions', { webhook_url: 'http://169.254.169.254/latest' })
  assert.equal(ssrf.statusCode, 400)
  assert.equal(ssrf.json().field, 'webhook_url')
  const readOnly = await call('POST', '/api/buckets/photos/subscriptions', { webhook_url: receiver.url }, { authorization: `Bearer ${await h.token('read')}` })
  assert.equal(readOnly.statusCode, 403)

  const patched = await call('PATCH', '/api/buckets/photos/subscriptions/thumbs', { suffix: null, prefix: 'img/', signing_secrets: null })
  assert.equal(patched.statusCode, 200, patched.body)
  assert.equal(patched.json().suffix, undefined)
  assert.equal(patched.json().prefix, 'img/')
  assert.equal(patched.json().signing_secret_count, undefined)
  assert.equal((await call('POST', '/api/buckets/photos/subscriptions/thumbs/disable')).json().enabled, false)
  assert.equal((await call('GET', '/api/buckets/photos/subscriptions/thumbs')).json().enabled, false)
  assert.equal((await call('POST', '/api/buckets/photos/subscriptions/thumbs/enable')).json().enabled, true)

  const defaultPatched = await call('PATCH', '/api/buckets/photos/subscriptions/default', { events: ['deleted'], format: 'cloudevents' })
  assert.equal(defaultPatched.statusCode, 200, defaultPatched.body)
  const bucket = (await call('GET', '/api/buckets/photos')).json().bucket
  assert.equal(bucket.webhook_url, receiver.url, 'the default subscription is the bucket own webhook_url')
  assert.deepEqual(bucket.default_subscription.events, ['deleted'])
  await call('PATCH', '/api/buckets/photos/subscriptions/default', { events: ['created', 'updated', 'detected', 'deleted'], format: 'original' })
})

test('/test sends a signed test event in the subscription format and answers with the receiver status', async () => {
  await call('POST', '/api/buckets/photos/subscriptions', { id: 'rotating', webhook_url: receiver.url, format: 'cloudevents', signing_secrets: [SECRET_A, SECRET_B] })
  receiver.respond = (_req, res) => { res.statusCode = 202; res.end() }
  const before = receiver.requests.length
  const res = await call('POST', '/api/buckets/photos/subscriptions/rotating/test')
  assert.equal(res.statusCode, 200, res.body)
  assert.equal(res.json().delivered, true)
  assert.equal(res.json().status, 202)
  assert.equal(typeof res.json().duration_ms, 'number')
  const sent = receiver.requests.slice(before)
  assert.equal(sent.length, 1)
  const req = sent[0]!
  assert.equal(req.headers['ce-type'], 'com.watch-folder.object.test')
  assert.equal(req.json.event_type, 'test')
  for (const secret of [SECRET_A, SECRET_B]) {
    new Webhook(secret).verify(req.body, req.headers as Record<string, string>) // throws unless this secret's signature is there
  }
  receiver.respond = (_req, res) => { res.statusCode = 503; res.end() }
  const down = await call('POST', '/api/buckets/photos/subscriptions/rotating/test')
  assert.deepEqual({ ...down.json() as object, duration_ms: 0 }, { delivered: false, status: 503, duration_ms: 0 })
  receiver.respond = (_req, res) => { res.statusCode = 200; res.end('ok') }
  await receiver.close()
  const refused = await call('POST', '/api/buckets/photos/subscriptions/rotating/test')
  assert.equal(refused.json().delivered, false)
  assert.equal(refused.json().status, null)
  assert.match(refused.json().error, /ECONNREFUSED/)
  receiver = await startReceiver()
})

test('deleting a subscription leaves nothing of it in Redis or the secret store', async () => {
  const secret = 'whsec_' + Buffer.from('a-secret-only-this-sub-has-here!').toString('base64')
  const created = await call('POST', '/api/buckets/photos/subscriptions', {
    id: 'doomed',
    webhook_url: 'http://127.0.0.1:7/doomed',
    signing_secrets: [secret],
    webhook_auth: { type: 'oauth2', client_id: 'doomed-client', client_secret: 'doomed-client-secret', token_url: 'http://127.0.0.1:7/token' }
  })
  assert.equal(created.statusCode, 201)
  // A retry and a dead letter of it are waiting, beside another subscription's.
  const entry = (sub: string) => JSON.stringify({ event_id: 'e1', bucket: 'photos', key: 'a.jpg', subscription: sub, retry_count: 1 })
  await h.redis.zadd(h.keys.retry, Date.now() + 60_000, entry('doomed'))
  await h.redis.zadd(h.keys.retry, Date.now() + 60_000, entry('thumbs'))
  await h.redis.lpush(h.keys.deadLetter, JSON.stringify({ id: 'd1', subscription: 'doomed', event: JSON.parse(entry('doomed')) }))
  await h.redis.hset(h.keys.endpointStatus, 'http://127.0.0.1:7/doomed', '{"gone":true}')
  await h.redis.rpush(h.keys.parked('photos', 'doomed'), entry('doomed'))
  await h.redis.hset(h.keys.subscriptionState('photos', 'doomed'), 'state', 'disabled', 'reason', 'gone')
  assert.ok(await h.secrets.get('PHOTOS_subDOOMED_SIGNING_SECRET'))
  const res = await call('DELETE', '/api/buckets/photos/subscriptions/doomed')
  assert.equal(res.statusCode, 200, res.body)
  assert.equal((await call('GET', '/api/buckets/photos/subscriptions/doomed')).statusCode, 404)
  const dump = JSON.stringify(await dumpRedis(h))
  assert.ok(!dump.includes('doomed'), `nothing of it in Redis: ${dump.slice(0, 500)}`)
  assert.ok(dump.includes('thumbs'), 'the other subscription keeps its retry')
  h.secrets.invalidate()
  assert.equal(await h.secrets.get('PHOTOS_subDOOMED_SIGNING_SECRET'), undefined)
  assert.equal(await h.secrets.get('PHOTOS_subDOOMED_WEBHOOK_CLIENT_SECRET'), undefined)
  assert.equal((await call('DELETE', '/api/buckets/photos/subscriptions/doomed')).statusCode, 404)
})

test('a subscription shows its delivery state; disable parks (operator), enable queues the parked events oldest first at the head; retry_schedule is kept', async () => {
  const created = await call('POST', '/api/buckets/photos/subscriptions', { id: 'lifecycle', webhook_url: receiver.url, retry_schedule: [2, 60] })
  assert.equal(created.statusCode, 201, created.body)
  assert.deepEqual(created.json().retry_schedule, [2, 60])
  const bad = await call('PATCH', '/api/buckets/photos/subscriptions/lifecycle', { retry_schedule: [-1] })
  assert.equal(bad.statusCode, 400)
  assert.match(bad.body, /retry_schedule/)
  const get = async () => (await call('GET', '/api/buckets/photos/subscriptions/lifecycle')).json()
  assert.deepEqual(pick(await get()), { state: 'active', disabled_reason: null, parked: 0, retry_schedule: [2, 60] })

  const disabled = (await call('POST', '/api/buckets/photos/subscriptions/lifecycle/disable')).json()
  assert.deepEqual(pick(disabled), { state: 'disabled', disabled_reason: 'operator', parked: 0, retry_schedule: [2, 60] })
  // The consumer parks (parkEntry.lua) and may disable on its own (a 410: gone).
  const parked = (i: number) => JSON.stringify({ event_id: `p${i}`, bucket: 'photos', key: `k${i}`, subscription: 'lifecycle', retry_count: 0 })
  await h.redis.rpush(h.keys.parked('photos', 'lifecycle'), parked(1), parked(2), parked(3))
  await h.redis.hset(h.keys.subscriptionState('photos', 'lifecycle'), 'reason', 'gone')
  await h.redis.hset(h.keys.endpointStatus, receiver.url, JSON.stringify({ gone: true, status: 410 }))
  assert.deepEqual(pick(await get()), { state: 'disabled', disabled_reason: 'gone', parked: 3, retry_schedule: [2, 60] })

  await h.redis.rpush(h.keys.queue, 'newer')
  const enabled = (await call('POST', '/api/buckets/photos/subscriptions/lifecycle/enable')).json()
  assert.deepEqual(pick(enabled), { state: 'active', disabled_reason: null, parked: 0, retry_schedule: [2, 60] })
  assert.deepEqual(await h.redis.lrange(h.keys.queue, 0, -1), [parked(1), parked(2), parked(3), 'newer'])
  assert.equal(await h.redis.hexists(h.keys.endpointStatus, receiver.url), 0, 'the 410 mark is cleared')
  await h.redis.del(h.keys.queue)
  const patched = (await call('PATCH', '/api/buckets/photos/subscriptions/lifecycle', { retry_schedule: null })).json()
  assert.equal(patched.retry_schedule, undefined)
  assert.equal((await call('DELETE', '/api/buckets/photos/subscriptions/lifecycle')).statusCode, 200)
})

function pick (sub: Record<string, unknown>) {
  return { state: sub.state, disabled_reason: sub.disabled_reason, parked: sub.parked, retry_schedule: sub.retry_schedule }
}

/** Every key and value in Redis, as text (the embedded secret store's blobs are encrypted). */
async function dumpRedis (harness: Harness): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {}
  for (const key of await harness.redis.keys('*')) {
    const type = await harness.redis.type(key)
    if (type === 'string') out[key] = await harness.redis.get(key)
    else if (type === 'list') out[key] = await harness.redis.lrange(key, 0, -1)
    else if (type === 'hash') out[key] = await harness.redis.hgetall(key)
    else if (type === 'zset') out[key] = await harness.redis.zrange(key, 0, -1)
    else if (type === 'set') out[key] = await harness.redis.smembers(key)
  }
  return out
}

test('/test authenticates as the subscription does: a token from its OAuth2 client', async () => {
  const oauth = new OAuth2Server()
  await oauth.issuer.keys.generate('RS256')
  await oauth.start(0, '127.0.0.1')
  try {
    const tokenUrl = `http://127.0.0.1:${oauth.address().port}/token`
    const created = await call('POST', '/api/buckets/photos/subscriptions', { id: 'with-auth', webhook_url: receiver.url, webhook_auth: { type: 'oauth2', client_id: 'hooks', client_secret: 'hooks-client-secret', token_url: tokenUrl } })
    assert.equal(created.statusCode, 201, created.body)
    const before = receiver.requests.length
    const res = await call('POST', '/api/buckets/photos/subscriptions/with-auth/test')
    assert.equal(res.json().delivered, true, res.body)
    assert.match(String(receiver.requests[before]!.headers.authorization), /^Bearer .+/)
  } finally {
    await oauth.stop()
  }
})
