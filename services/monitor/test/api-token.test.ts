import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import * as oauth from 'openid-client'
import jwt from 'jsonwebtoken'
import { startApi, CLIENT_ID, CLIENT_SECRET, READER, type Harness } from './api-harness.ts'

// The token route as standard OAuth2 clients call it (RFC 6749 §4.4: a form body, the client
// in the body or in HTTP Basic, §5.2 error codes), and its rate limit, shared in Redis by
// every replica, with RateLimit-* and Retry-After headers.

let h: Harness
let replica: Harness
let server: Server
let base: string
before(async () => {
  h = await startApi()
  replica = await startApi({ server: h.server })
  server = createServer((req, res) => { h.app.routing(req, res) })
  await h.app.ready()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
after(async () => {
  server.close()
  await replica.close()
  await h.close()
})

const form = (fields: Record<string, string>, headers: Record<string, string> = {}, ip = `10.40.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`) => h.app.inject({
  method: 'POST',
  url: '/api/auth/token',
  payload: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  remoteAddress: ip
})
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`

test('openid-client gets a token with the client in HTTP Basic and in the form body', async () => {
  const server = { issuer: base, token_endpoint: `${base}/api/auth/token` }
  for (const auth of [oauth.ClientSecretBasic(CLIENT_SECRET), oauth.ClientSecretPost(CLIENT_SECRET)]) {
    const config = new oauth.Configuration(server, CLIENT_ID, undefined, auth)
    oauth.allowInsecureRequests(config) // plain HTTP on loopback only
    const tokens = await oauth.clientCredentialsGrant(config)
    assert.equal(tokens.token_type, 'bearer')
    assert.equal(tokens.scope, 'read write')
    const res = await h.app.inject({ method: 'GET', url: '/api/buckets', headers: { authorization: `Bearer ${tokens.access_token}` } })
    assert.equal(res.statusCode, 200)
  }
  const wrong = new oauth.Configuration(server, CLIENT_ID, undefined, oauth.ClientSecretBasic('wrong-secret'))
  oauth.allowInsecureRequests(wrong)
  await assert.rejects(oauth.clientCredentialsGrant(wrong), (err: any) => err.status === 401 && /Basic/.test(String(err.response?.headers.get('www-authenticate'))))
})

test('form and Basic requests get RFC 6749 error codes; a scope narrows the token', async () => {
  const ok = await form({ grant_type: 'client_credentials' }, { authorization: basic(READER.client_id, READER.client_secret) })
  assert.equal(ok.statusCode, 200)
  assert.equal(ok.headers['cache-control'], 'no-store')
  const narrowed = await form({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET, scope: 'read' })
  assert.equal(narrowed.json().scope, 'read')
  assert.deepEqual((jwt.decode(narrowed.json().access_token) as { scopes: string[] }).scopes, ['read'])
  const cases: Array<[Record<string, string>, Record<string, string>, number, string, string?]> = [
    [{ grant_type: 'password', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, {}, 400, 'unsupported_grant_type', 'grant_type'],
    [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, {}, 400, 'invalid_request', 'grant_type'],
    [{ grant_type: 'client_credentials' }, {}, 401, 'invalid_client', 'client_id'],
    [{ grant_type: 'client_credentials', client_id: CLIENT_ID }, {}, 401, 'invalid_client', 'client_secret'],
    [{ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: 'nope' }, {}, 401, 'invalid_client'],
    [{ grant_type: 'client_credentials', client_id: CLIENT_ID }, { authorization: basic(CLIENT_ID, CLIENT_SECRET) }, 400, 'invalid_request', 'client_id'],
    [{ grant_type: 'client_credentials', scope: 'write' }, { authorization: basic(READER.client_id, READER.client_secret) }, 400, 'invalid_scope', 'scope']
  ]
  for (const [fields, headers, status, code, field] of cases) {
    const res = await form(fields, headers)
    assert.equal(res.statusCode, status, `${JSON.stringify(fields)} -> ${res.body}`)
    assert.equal(res.json().error, code)
    assert.equal(typeof res.json().error_description, 'string')
    assert.equal(typeof res.json().reason, 'string')
    if (field) assert.equal(res.json().field, field)
  }
  const wrongBasic = await form({ grant_type: 'client_credentials' }, { authorization: basic(CLIENT_ID, 'nope') })
  assert.equal(wrongBasic.statusCode, 401)
  assert.match(String(wrongBasic.headers['www-authenticate']), /^Basic/)
  const repeated = await h.app.inject({ method: 'POST', url: '/api/auth/token', payload: 'grant_type=client_credentials&grant_type=client_credentials', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(CLIENT_ID, CLIENT_SECRET) }, remoteAddress: '10.40.251.1' })
  assert.equal(repeated.json().error, 'invalid_request', 'a repeated parameter is refused (RFC 6749 §3.1)')
})

test('the limit is shared by two replicas in Redis, with RateLimit-* and Retry-After headers', async () => {
  const post = (app: Harness, ip: string) => app.app.inject({ method: 'POST', url: '/api/auth/token', payload: { client_id: CLIENT_ID, client_secret: 'wrong' }, remoteAddress: ip })
  const ip = '10.41.0.1'
  const first = await post(h, ip)
  assert.equal(first.headers['ratelimit-limit'], '5')
  assert.equal(first.headers['ratelimit-remaining'], '4')
  assert.ok(Number(first.headers['ratelimit-reset']) >= 1)
  for (let i = 0; i < 2; i++) assert.equal((await post(h, ip)).statusCode, 401)
  for (let i = 0; i < 2; i++) assert.equal((await post(replica, ip)).statusCode, 401)
  const limited = await post(replica, ip)
  assert.equal(limited.statusCode, 429, 'the other replica counts the first one\'s requests: 5 in all, not 5 each')
  assert.equal(limited.headers['ratelimit-remaining'], '0')
  assert.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 60)
  assert.equal(limited.json().error, 'Too many token requests; try again later')
  assert.equal(limited.json().reason, 'rate limited')
  assert.equal((await post(h, ip)).statusCode, 429)
  h.clock.now += 60_000
  replica.clock.now += 60_000
  try {
    assert.equal((await post(replica, ip)).statusCode, 401, 'a new window opens after a minute')
  } finally {
    h.clock.now -= 60_000
    replica.clock.now -= 60_000
  }
})
