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
    const [method, url] = r.split(' ') as ['GET' | 'POST', string]
    const headers: Record<string, string> = {}
    if (type) headers['content-type'] = type
    if (authValue === 'valid') headers.authorization = auth
    else if (authValue !== undefined) headers.authorization = authValue
    const res = await h.app.inject({ method, url: url + toQuery(q), headers, ...(method === 'POST' && { payload }), remoteAddress: `10.${Math.floor(Math.random() * 255)}.0.1` })
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    assert.ok(res.statusCode < 500, `${r}${toQuery(q)} ${payload.slice(0, 200)} -> ${res.statusCode} ${res.body}`)
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

async function assertStoredConfigsValid (): Promise<void> {
  const keys = await h.redis.keys(h.keys.bucketConfigPattern)
  for (const key of keys) {
    const raw = await h.redis.get(key)
    const parsed = StoredBucket.safeParse(JSON.parse(raw ?? 'null'))
    assert.ok(parsed.success, `${key} holds an invalid config: ${raw}`)
    for (const secretField of ['access_key', 'secret_key', 'client_secret', 'signing_secret']) {
      assert.ok(!(raw ?? '').includes(`"${secretField}"`), `${key} holds ${secretField}`)
    }
    assert.equal(key, h.keys.bucketConfig(parsed.data.name))
  }
}
