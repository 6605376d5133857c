import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { OAuth2Server } from 'oauth2-mock-server'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { startReceiver, type Receiver } from '../../../test/support/receiver.ts'
import { waitFor } from '../../../test/support/ports.ts'
import { startHarness, makeEvent, bucketConfig, bucketSecretNames } from './harness.ts'

let server: RedisServer
let oauth: OAuth2Server
let receiver: Receiver
let tokenRequests = 0
const issued: string[] = []
let revoked = new Set<string>()
const cleanups: Array<() => Promise<void>> = []

before(async () => {
  server = await startRedis()
  oauth = new OAuth2Server()
  await oauth.issuer.keys.generate('RS256')
  await oauth.start(0, '127.0.0.1')
  oauth.issuer.url = `http://127.0.0.1:${oauth.address().port}`
  oauth.service.on('beforeTokenSigning', (token: any) => { token.payload.jti = randomUUID(); tokenRequests++ })
  oauth.service.on('beforeResponse', (res: any) => { if (res.body?.access_token) issued.push(res.body.access_token) })
  receiver = await startReceiver()
  receiver.respond = (req, res) => {
    const token = String(req.headers.authorization ?? '').replace(/^Bearer /, '')
    res.statusCode = issued.includes(token) && !revoked.has(token) ? 200 : 401
    res.end()
  }
})
after(async () => {
  for (const c of cleanups.reverse()) await c()
  await receiver.close()
  await oauth.stop()
  await server.stop()
})

test('OAuth2 bucket: one token for many deliveries; a revoked token is replaced and the event delivered', async () => {
  const bucket = `b-${randomUUID().slice(0, 8)}`
  const secretValue = 'client-secret-never-logged'
  const h = await startHarness({
    redisPort: server.port,
    buckets: [bucketConfig(bucket, receiver.url, { webhook_auth: { type: 'oauth2', client_id: 'hooks', token_url: `${oauth.issuer.url}/token`, scope: 'write' } })],
    secrets: { [bucketSecretNames(bucket).WEBHOOK_CLIENT_SECRET]: secretValue }
  })
  cleanups.push(() => h.stop())
  await h.push(...Array.from({ length: 40 }, (_, i) => makeEvent(bucket, i)))
  await waitFor(() => receiver.requests.filter(r => r.json.bucket === bucket).length === 40, { what: '40 deliveries' })
  assert.equal(tokenRequests, 1)

  revoked = new Set(issued) // the authorization server revokes every token issued so far
  await h.push(...Array.from({ length: 10 }, (_, i) => makeEvent(bucket, 100 + i)))
  const ok = () => receiver.requests.filter(r => r.json.bucket === bucket && r.json.key.includes('01')).length
  await waitFor(async () => await h.redis.llen(h.keys.queue) === 0 && await h.redis.zcard(h.keys.retry) === 0 && h.consumer.worker.inFlight === 0, { what: 'drained' })
  assert.ok(ok() > 0)
  assert.equal((await h.redis.llen(h.keys.deadLetter)), 0)
  assert.equal(tokenRequests, 2, 'the 401s share one new token')
  const metrics = await h.registry.metrics()
  assert.match(metrics, /watch_folder_token_fetches_total\{result="ok"[^}]*\} 2/)
  assert.ok(!JSON.stringify(h.logs).includes(secretValue))
  assert.ok(!issued.some(t => JSON.stringify(h.logs).includes(t)), 'no token in the logs')
})

test('global oauth applies to webhook.url; a failing token endpoint makes the event wait, never send unauthenticated', async () => {
  const bucket = `b-${randomUUID().slice(0, 8)}`
  let failures = 2
  oauth.service.on('beforeResponse', (res: any, req: any) => {
    if (req.url?.startsWith('/token') && failures > 0) { failures--; res.statusCode = 500; res.body = { error: 'server_error' } }
  })
  const h = await startHarness({
    redisPort: server.port,
    buckets: [bucketConfig(bucket, '', { webhook_url: null })],
    webhook: { url: receiver.url, circuit_threshold: 100, circuit_reset_time: 0.2 },
    oauth: { token_url: `${oauth.issuer.url}/token`, client_id: 'global', client_secret: 'global-secret-1234' },
    random: () => 0.1
  })
  cleanups.push(() => h.stop())
  const before = receiver.requests.length
  await h.push(makeEvent(bucket, 1))
  await waitFor(() => receiver.requests.slice(before).some(r => r.json.bucket === bucket), { what: 'delivery to the global url' })
  const got = receiver.requests.slice(before).filter(r => r.json.bucket === bucket)
  assert.equal(got.length, 1, 'never sent without a token')
  assert.equal(failures, 0, 'both token failures happened')
  assert.equal(got[0]!.json.retry_count, 1, 'a token endpoint outage (500) spends no attempt: the event waited, as for an open circuit')
  assert.match(String(got[0]!.headers.authorization), /^Bearer /)
})
