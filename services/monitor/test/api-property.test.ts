import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { StoredBucket } from '@internal/buckets'
import { startApi, acceptKey, type Harness } from './api-harness.ts'

let h: Harness
let auth: string

before(async () => {
  h = await startApi({ checkCredentials: acceptKey('AK'), lookup: async host => host.endsWith('.internal') ? ['10.0.0.1'] : ['127.0.0.1'] })
  auth = `Bearer ${await h.token()}`
})
after(async () => { await h.close() })

// Secrets the generated subscriptions carry: no answer may ever show them.
const SIGNING = 'whsec_c2lnbmluZy1zZWNyZXQtb2YtdGhlLXByb3BlcnR5LXRlc3Q='
const CLIENT_SECRET_VALUE = 'property-client-secret-value'
const hostile = fc.constantFrom(
  '__proto__', 'constructor', 'prototype', '', ' ', '\u0000', '../../etc/passwd', '%00', '${jndi:ldap://x}', '<script>', "' OR 1=1 --",
  'a'.repeat(5000), '😀'.repeat(50), 'http://169.254.169.254/latest', 'http://127.0.0.1:1/x', 'file:///etc/passwd', 'javascript:alert(1)',
  'http://x.internal/h', 'ftp://example.com', 'gopher://x', 'http://[::1]/', 'http://0.0.0.0/', '1e309', 'NaN', 'true', 'null'
)
const anyValue = fc.oneof(hostile, fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 3 }))
const fields = ['name', 'access_key', 'secret_key', 'region', 'endpoint', 'webhook_url', 'webhook_auth', 'client_id', 'client_secret', 'token_url',
  'scope', 'signing_secret', 'polling_interval', 'include', 'exclude', 'first_scan', 'signing_region', 'notifications_enabled', 'ids', 'all',
  'forget', '__proto__', 'constructor', 'extra']
const bucketName = fc.oneof(fc.constantFrom('prop-bucket', 'prop.b-2', 'abc'), fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,10}[a-z0-9]$/), hostile)
const subscriptionId = fc.oneof(fc.constantFrom('default', 'sub-1', 'thumbs'), fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,8}$/), hostile)
const plausibleSubscription = fc.record({
  id: subscriptionId,
  webhook_url: fc.oneof(fc.constant('http://127.0.0.1:9/h'), anyValue),
  events: fc.oneof(fc.subarray(['created', 'updated', 'detected', 'deleted']), fc.array(anyValue, { maxLength: 3 }), anyValue),
  prefix: fc.oneof(fc.string({ maxLength: 10 }), anyValue),
  suffix: fc.oneof(fc.constant('.jpg'), anyValue),
  include: fc.oneof(fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }), anyValue),
  format: fc.oneof(fc.constantFrom('original', 's3', 'cloudevents'), anyValue),
  signing_secrets: fc.oneof(fc.constant([SIGNING]), fc.array(fc.string({ maxLength: 30 }), { maxLength: 2 }), anyValue),
  webhook_auth: fc.oneof(fc.constant({ type: 'oauth2', client_id: 'c', client_secret: CLIENT_SECRET_VALUE, token_url: 'http://127.0.0.1:9/t' }), anyValue),
  enabled: fc.oneof(fc.boolean(), anyValue)
}, { requiredKeys: [] })
const plausible = fc.record({
  name: bucketName,
  access_key: fc.oneof(fc.constant('AK'), anyValue),
  secret_key: fc.oneof(fc.constant('SK'), anyValue),
  region: fc.oneof(fc.constant('http://127.0.0.1:9'), fc.constant('us-east-1.linodeobjects.com'), anyValue),
  webhook_url: fc.oneof(fc.constant('http://127.0.0.1:9/h'), anyValue),
  webhook_auth: fc.oneof(fc.record({ type: fc.constant('oauth2'), client_id: fc.string(), client_secret: fc.string(), token_url: fc.oneof(fc.constant('http://127.0.0.1:9/t'), anyValue) }), anyValue),
  polling_interval: anyValue,
  include: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), anyValue)
}, { requiredKeys: [] })
const body = fc.oneof(
  plausible,
  plausibleSubscription,
  fc.dictionary(fc.constantFrom(...fields), anyValue),
  fc.jsonValue({ maxDepth: 4 }),
  fc.record({ client_id: anyValue, client_secret: anyValue }, { requiredKeys: [] }),
  fc.record({ ids: fc.oneof(fc.array(fc.string()), anyValue), all: anyValue }, { requiredKeys: [] })
)
const rawPayload = fc.oneof(
  body.map(b => JSON.stringify(b) ?? 'null'),
  fc.string(),
  fc.constantFrom('{', '{"name":', '[]'.repeat(1000), '['.repeat(5000) + ']'.repeat(5000), '{"__proto__":{"polluted":true}}', '\uFEFF{}', 'null')
)
const query = fc.dictionary(fc.constantFrom('bucket', 'forget', 'offset', 'limit', 'x', '__proto__'), fc.oneof(anyValue.map(String), fc.array(fc.string(), { maxLength: 2 })), { maxKeys: 3 })
const route = fc.oneof(
  fc.constantFrom(
    'POST /api/auth/token', 'GET /api/bucket-notifications/status', 'POST /api/bucket-notifications/enable', 'POST /api/bucket-notifications/disable',
    'POST /api/buckets/add', 'POST /api/buckets/update', 'POST /api/buckets/delete', 'GET /api/buckets', 'GET /api/dead-letters',
    'POST /api/dead-letters/replay', 'POST /api/dead-letters/purge', 'GET /api/openapi.json'
  ),
  bucketName.map(n => `GET /api/buckets/${encodeURIComponent(String(n))}`),
  bucketName.map(n => `POST /api/buckets/${encodeURIComponent(String(n))}/resync`),
  fc.tuple(fc.constantFrom('GET', 'POST'), bucketName).map(([m, n]) => `${m} /api/buckets/${encodeURIComponent(String(n))}/subscriptions`),
  fc.tuple(fc.constantFrom('GET', 'PATCH', 'DELETE', 'POST:enable', 'POST:disable', 'POST:test'), bucketName, subscriptionId).map(([m, n, id]) => {
    const [method, action] = m.split(':')
    return `${method} /api/buckets/${encodeURIComponent(String(n))}/subscriptions/${encodeURIComponent(String(id))}${action ? `/${action}` : ''}`
  }),
  fc.string().map(id => `POST /api/dead-letters/${encodeURIComponent(id)}/replay`)
)
const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', undefined)
const authHeader = fc.oneof({ weight: 8, arbitrary: fc.constant('valid') }, { weight: 1, arbitrary: fc.string() }, { weight: 1, arbitrary: fc.constant(undefined) })

function toQuery (q: Record<string, string | string[]>): string {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(q)) for (const one of [v].flat()) params.append(k, one)
  const text = params.toString()
  return text ? `?${text}` : ''
}

test('random and hostile bodies and query strings on every route: never a 500, never an invalid config stored', async () => {
  let statuses = new Map<number, number>()
  await fc.assert(fc.asyncProperty(route, rawPayload, query, contentType, authHeader, async (r, payload, q, type, authValue) => {
    const [method, url] = r.split(' ') as ['GET' | 'POST' | 'PATCH' | 'DELETE', string]
    const headers: Record<string, string> = {}
    if (type) headers['content-type'] = type
    if (authValue === 'valid') headers.authorization = auth
    else if (authValue !== undefined) headers.authorization = authValue
    const res = await h.app.inject({ method, url: url + toQuery(q), headers, ...((method === 'POST' || method === 'PATCH') && { payload }), remoteAddress: `10.${Math.floor(Math.random() * 255)}.0.1` })
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    assert.ok(res.statusCode < 500, `${r}${toQuery(q)} ${payload.slice(0, 200)} -> ${res.statusCode} ${res.body}`)
    for (const secret of [SIGNING, CLIENT_SECRET_VALUE]) assert.ok(!res.body.includes(secret), `${r}: an answer shows a secret`)
    if (res.statusCode >= 400) assert.equal(typeof res.json().error, 'string', `${r}: error answers carry {"error"}`)
  }), { numRuns: 600 })
  await assertStoredConfigsValid()
  assert.ok((statuses.get(400) ?? 0) > 0 && (statuses.get(401) ?? 0) > 0, `a spread of answers: ${JSON.stringify([...statuses])}`)
  statuses = new Map()
})

test('valid-looking adds with random optional fields store only valid, secret-free configs', async () => {
  const optional = fc.record({
    webhook_url: fc.oneof(fc.constant('http://127.0.0.1:9/h'), fc.webUrl(), hostile),
    polling_interval: fc.oneof(fc.double({ min: -10, max: 100_000, noNaN: true }), fc.integer()),
    include: fc.array(fc.oneof(fc.string({ maxLength: 20 }), hostile), { maxLength: 3 }),
    first_scan: fc.oneof(fc.constantFrom('emit', 'baseline'), fc.string()),
    signing_secret: fc.oneof(fc.string({ minLength: 16, maxLength: 40 }), fc.string({ maxLength: 20 })),
    client_id: fc.string({ minLength: 1, maxLength: 10 }),
    client_secret: fc.string({ minLength: 1, maxLength: 10 }),
    token_url: fc.oneof(fc.constant('http://127.0.0.1:9/t'), hostile)
  }, { requiredKeys: [] })
  let added = 0
  await fc.assert(fc.asyncProperty(fc.stringMatching(/^[a-z0-9][a-z0-9-]{2,20}[a-z0-9]$/), optional, async (name, extra) => {
    const payload = { name, access_key: 'AK', secret_key: 'SK', region: 'http://127.0.0.1:9', webhook_url: 'http://127.0.0.1:9/h', ...extra }
    const res = await h.app.inject({ method: 'POST', url: '/api/buckets/add', headers: { authorization: auth }, payload })
    assert.ok([201, 400, 409].includes(res.statusCode), `${JSON.stringify(payload)} -> ${res.statusCode} ${res.body}`)
    if (res.statusCode === 201) added++
  }), { numRuns: 200 })
  assert.ok(added > 0)
  await assertStoredConfigsValid()
})

test('random subscription operations on an existing bucket: never a 500, never a secret in an answer, configs stay valid', async () => {
  const add = await h.app.inject({ method: 'POST', url: '/api/buckets/add', headers: { authorization: auth }, payload: { name: 'subs-prop', access_key: 'AK', secret_key: 'SK', region: 'http://127.0.0.1:9', webhook_url: 'http://127.0.0.1:9/h' } })
  assert.equal(add.statusCode, 201, add.body)
  const op = fc.tuple(fc.constantFrom('POST', 'GET', 'PATCH', 'DELETE', 'POST:enable', 'POST:disable', 'POST:test', 'GET:list'), subscriptionId)
  const statuses = new Map<number, number>()
  // A valid subscription with at most one field replaced by anything, so that many are stored.
  const valid = { webhook_url: 'http://127.0.0.1:9/h', signing_secrets: [SIGNING], webhook_auth: { type: 'oauth2', client_id: 'c', client_secret: CLIENT_SECRET_VALUE, token_url: 'http://127.0.0.1:9/t' } }
  const oneOff = fc.tuple(subscriptionId, plausibleSubscription, fc.boolean()).map(([id, random, keep]) => {
    const [field, value] = Object.entries(random)[0] ?? []
    return { ...valid, ...(keep && { id }), ...(field !== undefined && !keep && { [field]: value }) }
  })
  await fc.assert(fc.asyncProperty(op, fc.oneof(oneOff, plausibleSubscription, fc.jsonValue({ maxDepth: 2 })), async ([m, id], payload) => {
    const [method, action] = m.split(':') as ['GET' | 'POST' | 'PATCH' | 'DELETE', string | undefined]
    const base = '/api/buckets/subs-prop/subscriptions'
    const url = (method === 'POST' && !action) || action === 'list' ? base : `${base}/${encodeURIComponent(String(id))}${action ? `/${action}` : ''}`
    const withBody = (method === 'POST' && !action) || method === 'PATCH'
    const res = await h.app.inject({ method, url, headers: { authorization: auth }, ...(withBody && { payload: payload as object }) })
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    assert.ok(res.statusCode < 500, `${m} ${url} ${JSON.stringify(payload)?.slice(0, 300)} -> ${res.statusCode} ${res.body}`)
    for (const secret of [SIGNING, CLIENT_SECRET_VALUE]) assert.ok(!res.body.includes(secret), `${m}: an answer shows a secret`)
  }), { numRuns: 400 })
  assert.ok((statuses.get(201) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0, `a spread of answers: ${JSON.stringify([...statuses])}`)
  await assertStoredConfigsValid()
})

async function assertStoredConfigsValid (): Promise<void> {
  const keys = await h.redis.keys(h.keys.bucketConfigPattern)
  for (const key of keys) {
    const raw = await h.redis.get(key)
    const parsed = StoredBucket.safeParse(JSON.parse(raw ?? 'null'))
    assert.ok(parsed.success, `${key} holds an invalid config: ${raw}`)
    assert.ok(!(raw ?? '').includes(SIGNING) && !(raw ?? '').includes(CLIENT_SECRET_VALUE), `${key} holds a subscription secret`)
    for (const secretField of ['access_key', 'secret_key', 'client_secret', 'signing_secret', 'signing_secrets']) {
      assert.ok(!(raw ?? '').includes(`"${secretField}"`), `${key} holds ${secretField}`)
    }
    assert.equal(key, h.keys.bucketConfig(parsed.data.name))
  }
}
