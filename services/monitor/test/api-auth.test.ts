import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import jwt from 'jsonwebtoken'
import { startApi, CLIENT_ID, CLIENT_SECRET, JWT_SECRET, READER, type Harness } from './api-harness.ts'
import { createAuth } from '../src/api/auth.ts'

let h: Harness
before(async () => { h = await startApi() })
after(async () => { await h.close() })

const claims = (extra: Record<string, unknown> = {}) => ({
  sub: CLIENT_ID, scopes: ['read', 'write'], iat: Math.floor(h.clock.now / 1000), exp: Math.floor(h.clock.now / 1000) + 600, ...extra
})
const signed = (payload: object, secret = JWT_SECRET, opts: jwt.SignOptions = {}) =>
  jwt.sign(payload, secret, { algorithm: 'HS256', issuer: 'watch-folder-monitor', audience: 'watch-folder-api', ...opts })
function hmacToken (payload: object, key: string): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ ...payload, iss: 'watch-folder-monitor', aud: 'watch-folder-api' })}`
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`
}
const get = (token?: string, url = '/api/buckets') =>
  h.app.inject({ method: 'GET', url, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })

test('the token route issues an HS256 bearer token with scopes and the configured expiry', async () => {
  const res = await h.app.inject({ method: 'POST', url: '/api/auth/token', payload: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET } })
  assert.equal(res.statusCode, 200)
  const body = res.json()
  assert.equal(body.token_type, 'Bearer')
  assert.equal(body.expires_in, 3600)
  assert.equal(res.headers['cache-control'], 'no-store')
  const decoded = jwt.decode(body.access_token, { complete: true }) as jwt.Jwt & { payload: jwt.JwtPayload }
  assert.equal(decoded.header.alg, 'HS256')
  assert.deepEqual(decoded.payload.scopes, ['read', 'write'])
  assert.equal(decoded.payload.exp! - decoded.payload.iat!, 3600)
  assert.equal((await get(body.access_token)).statusCode, 200)
})

test('the token route refuses bad credentials and bad bodies in the Python monitor\'s shapes', async () => {
  const post = (payload?: string | object, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    h.app.inject({ method: 'POST', url: '/api/auth/token', payload, headers, remoteAddress: '10.1.1.1' })
  const wrong = await post({ client_id: CLIENT_ID, client_secret: 'nope' })
  assert.equal(wrong.statusCode, 401)
  assert.deepEqual(wrong.json(), { error: 'Invalid credentials', reason: 'not authenticated' })
  assert.equal((await post({ client_id: 'someone', client_secret: CLIENT_SECRET })).statusCode, 401)
  assert.deepEqual((await post({ client_id: CLIENT_ID })).json(), { error: 'Missing credentials', reason: 'invalid request', message: 'client_id and client_secret are required', field: 'client_secret', fields: ['client_secret'] })
  const badJson = await post('{"client_id": ')
  assert.equal(badJson.statusCode, 400)
  assert.match(badJson.json().error, /^Invalid JSON/)
  assert.deepEqual((await post('')).json(), { error: 'No content provided', reason: 'invalid request' })
})

test('a read-only client from the config may GET but not change anything (403)', async () => {
  const reader = await h.token('read')
  assert.equal((await get(reader)).statusCode, 200)
  assert.equal((await get(reader, '/api/bucket-notifications/status')).statusCode, 200)
  const res = await h.app.inject({ method: 'POST', url: '/api/bucket-notifications/disable?bucket=abc', headers: { authorization: `Bearer ${reader}` } })
  assert.equal(res.statusCode, 403)
  assert.deepEqual(res.json(), { error: 'Insufficient scope', reason: 'needs the write scope', required_scope: 'write' })
  const decoded = jwt.decode(reader) as jwt.JwtPayload
  assert.equal(decoded.sub, READER.client_id)
})

test('every protected route answers 401 without a token and with a bad one', async () => {
  const missing = await get()
  assert.equal(missing.statusCode, 401)
  assert.deepEqual(missing.json(), { error: 'Authentication required', reason: 'no bearer token', message: 'Use Bearer token authentication', field: 'authorization' })
  assert.equal((await h.app.inject({ method: 'GET', url: '/api/buckets', headers: { authorization: 'Basic abc' } })).statusCode, 401)
  const bad = {
    expired: signed(claims({ iat: Math.floor(h.clock.now / 1000) - 7200, exp: Math.floor(h.clock.now / 1000) - 1 })),
    tampered: signed(claims()).replace(/\.([^.]+)\./, (_m, p: string) => `.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'evil' })).toString('base64url')}.`),
    wrongSecret: signed(claims(), 'another-secret-that-is-long-enough-xx'),
    algNone: jwt.sign(claims(), '', { algorithm: 'none', issuer: 'watch-folder-monitor', audience: 'watch-folder-api' }),
    hs512: signed(claims(), JWT_SECRET, { algorithm: 'HS512' }),
    noScopes: signed(claims({ scopes: undefined })),
    wrongAudience: jwt.sign(claims(), JWT_SECRET, { algorithm: 'HS256', issuer: 'watch-folder-monitor', audience: 'other' }),
    garbage: 'not.a.jwt',
    emptySecret: hmacToken(claims(), '') // the Python monitor accepted a token signed with an empty JWT_SECRET
  }
  assert.equal((await get(hmacToken(claims(), JWT_SECRET))).statusCode, 200, 'the hand-made token is accepted with the right key')
  for (const [name, token] of Object.entries(bad)) {
    const res = await get(token)
    assert.equal(res.statusCode, 401, name)
    assert.deepEqual(res.json(), { error: 'Invalid or expired token', reason: 'invalid or expired token', field: 'authorization' }, name)
  }
  for (const url of ['/api/bucket-notifications/status', '/api/buckets/abc', '/api/dead-letters']) {
    assert.equal((await get(undefined, url)).statusCode, 401, url)
  }
  for (const url of ['/api/buckets/add', '/api/buckets/update', '/api/buckets/delete?bucket=abc', '/api/bucket-notifications/enable?bucket=abc', '/api/buckets/abc/resync', '/api/dead-letters/purge']) {
    assert.equal((await h.app.inject({ method: 'POST', url, payload: {} })).statusCode, 401, url)
  }
})

test('a token expires with the injected clock', async () => {
  const token = await h.token()
  assert.equal((await get(token)).statusCode, 200)
  h.clock.now += 3601_000
  try {
    assert.equal((await get(token)).statusCode, 401)
  } finally {
    h.clock.now -= 3601_000
  }
})

test('the token route is rate limited per client address', async () => {
  const post = (ip: string) => h.app.inject({ method: 'POST', url: '/api/auth/token', payload: { client_id: CLIENT_ID, client_secret: 'wrong' }, remoteAddress: ip })
  for (let i = 0; i < 5; i++) assert.equal((await post('10.2.2.2')).statusCode, 401)
  const limited = await post('10.2.2.2')
  assert.equal(limited.statusCode, 429)
  assert.ok(Number(limited.headers['retry-after']) >= 1)
  // even the right secret is refused while limited: guessing cannot go faster than the limit
  const right = await h.app.inject({ method: 'POST', url: '/api/auth/token', payload: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, remoteAddress: '10.2.2.2' })
  assert.equal(right.statusCode, 429)
  assert.equal((await post('10.3.3.3')).statusCode, 401, 'another address is not limited')
  h.clock.now += 60_000
  try {
    assert.equal((await post('10.2.2.2')).statusCode, 401, 'a new window opens after a minute')
  } finally {
    h.clock.now -= 60_000
  }
})

test('a JWT secret shorter than 32 bytes or no client is refused at start', () => {
  const base = { clients: [{ client_id: 'a', client_secret: 'b', scopes: ['read' as const] }], tokenTtlSec: 60, now: Date.now }
  assert.throws(() => createAuth({ ...base, jwtSecret: '' }), /at least 32 bytes/)
  assert.throws(() => createAuth({ ...base, jwtSecret: 'x'.repeat(31) }), /at least 32 bytes/)
  assert.throws(() => createAuth({ ...base, clients: [], jwtSecret: 'x'.repeat(32) }), /no API client/)
})

test('/api/openapi.json is generated from the route schemas, and needs no token', async () => {
  const res = await h.app.inject({ method: 'GET', url: '/api/openapi.json' })
  assert.equal(res.statusCode, 200)
  const doc = res.json()
  assert.equal(doc.openapi, '3.0.3')
  const add = doc.paths['/api/buckets/add'].post
  assert.equal(add.requestBody.content['application/json'].schema.$ref, '#/components/schemas/AddBucket')
  assert.deepEqual(doc.components.schemas.AddBucket.required, ['name', 'access_key', 'secret_key'])
  assert.equal(doc.components.schemas.AddBucket.additionalProperties, false)
  assert.ok(doc.paths['/api/buckets/{name}'].get)
  assert.ok(doc.paths['/api/dead-letters'].get)
  assert.deepEqual(doc.paths['/api/auth/token'].post.security, [])
  assert.ok(add.responses['401'] && add.responses['403'] && add.responses['422'])
})
