import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import jwt from 'jsonwebtoken'
import { startApi, CLIENT_ID, CLIENT_SECRET, JWT_SECRET, type Harness } from './api-harness.ts'

// The edges of the API's input: log volume under a token flood, body charsets, query
// integers, the auth scheme's case and the lifetime of a JWT.

let h: Harness
const lines: Array<Record<string, any>> = []
before(async () => { h = await startApi({ logDestination: { write (line: string) { lines.push(JSON.parse(line)) } } }) })
after(async () => { await h.close() })

const nowSec = () => Math.floor(h.clock.now / 1000)
const signed = (payload: object) =>
  jwt.sign(payload, JWT_SECRET, { algorithm: 'HS256', issuer: 'watch-folder-monitor', audience: 'watch-folder-api' })
const get = (url: string, authorization: string) => h.app.inject({ method: 'GET', url, headers: { authorization } })

test('a flood of rate-limited token requests writes one WARN line per address and window, with the count', async () => {
  const post = () => h.app.inject({ method: 'POST', url: '/api/auth/token', payload: { client_id: CLIENT_ID, client_secret: 'wrong' }, remoteAddress: '10.77.0.1' })
  for (let i = 0; i < 5; i++) assert.equal((await post()).statusCode, 401)
  for (let i = 0; i < 100; i++) assert.equal((await post()).statusCode, 429)
  const limited = () => lines.filter(l => l.ip === '10.77.0.1' && /rate limited/.test(l.message))
  assert.equal(limited().length, 1, 'the first refusal of the window is logged, the other 99 only counted')
  h.clock.now += 60_000
  try {
    assert.equal((await post()).statusCode, 401)
    const [first, summary] = limited()
    assert.equal(first?.level, 'WARN')
    assert.equal(summary?.refused, 100, 'when the next window opens, the ended one is summed up')
    assert.equal(limited().length, 2)
  } finally {
    h.clock.now -= 60_000
  }
})

test('a JSON body in a charset other than UTF-8 is refused with 415, not misread', async () => {
  const token = await h.token()
  const send = (contentType: string, payload: string | Buffer) => h.app.inject({
    method: 'POST', url: '/api/bucket-notifications/disable?bucket=nope', headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, payload
  })
  const utf16 = await send('application/json; charset=utf-16', Buffer.from('{}', 'utf16le'))
  assert.equal(utf16.statusCode, 415)
  assert.match(utf16.json().error, /charset utf-16.*UTF-8/i)
  assert.equal((await send('application/json; charset=UTF-16LE', '{}')).statusCode, 415, 'refused by its label, whatever the bytes')
  assert.equal((await send('application/json; charset=latin1', '{}')).statusCode, 415)
  for (const ok of ['application/json', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"']) {
    assert.equal((await send(ok, '{}')).statusCode, 404, ok) // parsed; the bucket is unknown
  }
})

test('query integers must be plain decimal: 0x10, 1e1 and blanks are a 400 naming the field', async () => {
  const token = `Bearer ${await h.token('read')}`
  for (const bad of ['0x10', '1e1', '%2016', '16.0', '', '0b1', '-0']) {
    const res = await get(`/api/dead-letters?limit=${bad}`, token)
    assert.equal(res.statusCode, 400, `limit=${bad}`)
    assert.equal(res.json().field, 'limit', `limit=${bad}`)
  }
  assert.equal((await get('/api/dead-letters?offset=0x1', token)).json().field, 'offset')
  const ok = await get('/api/dead-letters?limit=16&offset=0', token)
  assert.equal(ok.statusCode, 200)
  assert.equal(ok.json().limit, 16)
})

test('the bearer scheme is matched without regard to case (RFC 7235)', async () => {
  const token = await h.token('read')
  for (const scheme of ['bearer', 'BEARER', 'Bearer', 'bEaReR']) {
    assert.equal((await get('/api/buckets', `${scheme} ${token}`)).statusCode, 200, scheme)
  }
  assert.equal((await get('/api/buckets', `Bearerx ${token}`)).statusCode, 401)
  assert.equal((await get('/api/buckets', `Basic ${token}`)).statusCode, 401)
})

test('a JWT without exp or iat, or living longer than api.token_ttl, is refused', async () => {
  const base = { sub: CLIENT_ID, scopes: ['read', 'write'] }
  const refused = {
    noExp: signed({ ...base, iat: nowSec() }),
    noIat: signed({ ...base, exp: nowSec() + 600 }),
    tooLong: signed({ ...base, iat: nowSec(), exp: nowSec() + 3601 }),
    expBeforeIat: signed({ ...base, iat: nowSec(), exp: nowSec() - 10 })
  }
  for (const [name, token] of Object.entries(refused)) {
    const res = await get('/api/buckets', `Bearer ${token}`)
    assert.equal(res.statusCode, 401, name)
  }
  assert.equal((await get('/api/buckets', `Bearer ${signed({ ...base, iat: nowSec(), exp: nowSec() + 3600 })}`)).statusCode, 200, 'exactly the lifetime')
  assert.equal((await get('/api/buckets', `Bearer ${(await h.app.inject({ method: 'POST', url: '/api/auth/token', payload: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET } })).json().access_token}`)).statusCode, 200)
})
