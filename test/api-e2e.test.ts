import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'
import { OAuth2Server } from 'oauth2-mock-server'
import { Webhook } from 'standardwebhooks'
import { startRedis, type RedisServer } from './support/redis-server.ts'
import { startS3, type S3TestServer } from './support/s3.ts'
import { startReceiver, type Receiver } from './support/receiver.ts'
import { waitFor } from './support/ports.ts'
import { spawnService, apiClient, type ServiceProcess } from '../services/monitor/test/api-processes.ts'

// The whole system through real processes (`npm run monitor` / `npm run consumer` as child
// processes with env): the API on the monitor, a real S3-protocol server, Redis, the consumer
// and webhook receivers. Every log line of both processes is kept, and the last test searches
// them for every secret the run used.

const BUCKET = 'e2e-photos'
const S3_ACCESS_KEY = `AKE2E${randomBytes(6).toString('hex').toUpperCase()}`
const S3_SECRET_KEY = `s3-secret-${randomBytes(12).toString('hex')}`
const OAUTH_CLIENT_SECRET = `oauth-client-secret-${randomBytes(8).toString('hex')}`
const SIGNING_SECRET = `whsec_${randomBytes(24).toString('base64')}`
const env = {
  JWT_SECRET: `jwt-${randomBytes(24).toString('hex')}`,
  API_CLIENT_ID: 'e2e-admin',
  API_CLIENT_SECRET: `api-secret-${randomBytes(12).toString('hex')}`,
  SECRETS_KEY: randomBytes(32).toString('base64'),
  LOG_LEVEL: 'debug',
  SHUTDOWN_TIMEOUT_MS: '3000'
}

let redis: RedisServer
let s3: S3TestServer
let oauth: OAuth2Server
let receiverA: Receiver
let receiverB: Receiver
let monitor: ServiceProcess
let consumer: ServiceProcess
const issuedOAuthTokens: string[] = []
let api: ReturnType<typeof apiClient>

before(async () => {
  redis = await startRedis()
  s3 = await startS3()
  // s3rver runs in this process: give it a key pair only this test knows, so the logs can be searched for it.
  createRequire(import.meta.url)('s3rver/lib/models/account.js').DUMMY_ACCOUNT.createKeyPair(S3_ACCESS_KEY, S3_SECRET_KEY)
  await s3.createBucket(BUCKET)
  oauth = new OAuth2Server()
  await oauth.issuer.keys.generate('RS256')
  await oauth.start(0, '127.0.0.1')
  oauth.issuer.url = `http://127.0.0.1:${oauth.address().port}`
  oauth.service.on('beforeResponse', (response: { body: { access_token?: string } }) => {
    if (response.body.access_token) issuedOAuthTokens.push(response.body.access_token)
  })
  receiverA = await startReceiver('/hook-a')
  receiverB = await startReceiver('/hook-b')
  const config = {
    defaults: { polling_interval: 1 },
    redis: { host: '127.0.0.1', port: redis.port },
    webhook: { allowed_networks: ['127.0.0.0/8'], timeout: 5 },
    consumer: { polling_interval: 0.2 },
    api: { token_rate_limit: 100 }
  }
  monitor = await spawnService('monitor', config, env)
  consumer = await spawnService('consumer', config, env)
  api = apiClient(monitor.port)
})

after(async () => {
  for (const service of [monitor, consumer]) await service?.stop()
  await receiverA?.close()
  await receiverB?.close()
  await oauth?.stop()
  await s3?.stop()
  await redis?.stop()
})

const eventsFor = (receiver: Receiver, key: string) => receiver.requests.filter(r => r.json?.key === key)
/** Waits until the monitor finished `n` more scans of the bucket than now. */
async function scansPass (n: number): Promise<void> {
  const start = (await api.call('GET', `/api/buckets/${BUCKET}`)).json.status.scans_total
  await waitFor(async () => (await api.call('GET', `/api/buckets/${BUCKET}`)).json.status.scans_total >= start + n, { timeoutMs: 15_000, everyMs: 200, what: `${n} scans` })
}

test('end to end: token, add, upload -> webhook; disable -> nothing; enable; new webhook URL; delete -> Redis holds nothing of the bucket', async () => {
  await api.login(env.API_CLIENT_ID, env.API_CLIENT_SECRET)

  const add = await api.call('POST', '/api/buckets/add', {
    name: BUCKET,
    access_key: S3_ACCESS_KEY,
    secret_key: S3_SECRET_KEY,
    region: s3.endpoint,
    webhook_url: receiverA.url,
    client_id: 'e2e-hooks',
    client_secret: OAUTH_CLIENT_SECRET,
    token_url: `${oauth.issuer.url}/token`,
    signing_secret: SIGNING_SECRET
  })
  assert.equal(add.status, 201, JSON.stringify(add.json))

  await s3.put(BUCKET, 'inbox/first.jpg', 'first', { contentType: 'image/jpeg', metadata: { owner: 'e2e' } })
  await waitFor(() => eventsFor(receiverA, 'inbox/first.jpg').length > 0, { timeoutMs: 20_000, what: 'first webhook at A' })
  const first = eventsFor(receiverA, 'inbox/first.jpg')[0]!
  assert.equal(first.json.event_type, 'created')
  assert.equal(first.json.bucket, BUCKET)
  assert.equal(first.json.content_type, 'image/jpeg')
  assert.deepEqual(first.json.metadata, { owner: 'e2e' })
  assert.match(String(first.headers.authorization), /^Bearer .+/, 'OAuth2 token from the token server')
  assert.ok(issuedOAuthTokens.includes(String(first.headers.authorization).slice(7)))
  new Webhook(SIGNING_SECRET).verify(first.body, first.headers as Record<string, string>)

  assert.equal((await api.call('POST', `/api/bucket-notifications/disable?bucket=${BUCKET}`)).status, 200)
  await scansPass(1) // the switch has reached the scanner
  await s3.put(BUCKET, 'inbox/while-disabled.jpg', 'quiet')
  await scansPass(2)
  await new Promise(resolve => setTimeout(resolve, 500))
  assert.equal(eventsFor(receiverA, 'inbox/while-disabled.jpg').length, 0, 'nothing arrives while disabled')

  assert.equal((await api.call('POST', `/api/bucket-notifications/enable?bucket=${BUCKET}`)).status, 200)
  await s3.put(BUCKET, 'inbox/after-enable.jpg', 'loud')
  await waitFor(() => eventsFor(receiverA, 'inbox/after-enable.jpg').length > 0, { timeoutMs: 20_000, what: 'webhook after enable' })

  const update = await api.call('POST', '/api/buckets/update', { name: BUCKET, webhook_url: receiverB.url })
  assert.equal(update.status, 200)
  await scansPass(1)
  await s3.put(BUCKET, 'inbox/to-b.jpg', 'bee')
  await waitFor(() => eventsFor(receiverB, 'inbox/to-b.jpg').length > 0, { timeoutMs: 20_000, what: 'webhook at the new URL' })
  assert.equal(eventsFor(receiverA, 'inbox/to-b.jpg').length, 0, 'the old URL gets nothing')

  const status = await api.call('GET', '/api/bucket-notifications/status')
  const entry = status.json.buckets.find((b: { name: string }) => b.name === BUCKET)
  assert.equal(entry.webhook_url, receiverB.url)
  assert.ok(entry.objects_tracked >= 4)
  assert.ok(entry.events.created >= 3)

  assert.deepEqual((await api.call('POST', `/api/buckets/delete?bucket=${BUCKET}`)).json, { status: 'success', message: `Bucket ${BUCKET} deleted completely` })
  await new Promise(resolve => setTimeout(resolve, 2500)) // two polling intervals: no replica brings anything back
  const client = redis.client()
  const leftovers = (await client.keys('*')).filter(k => k.includes(BUCKET))
  assert.deepEqual(leftovers, [], 'no key names the bucket')
  const secretFields = await client.hkeys('linode:objstore:secrets')
  assert.deepEqual(secretFields.filter(f => f.startsWith('E2E_PHOTOS')), [], 'no secret of the bucket')
  assert.equal((await api.call('GET', `/api/buckets/${BUCKET}`)).status, 404)
})

test('logs of the whole run (both processes, debug level) hold no secret', async () => {
  const logs = monitor.output() + consumer.output()
  assert.ok(logs.includes('bucket added') && logs.length > 1000, 'the logs were captured')
  const secrets: Record<string, string> = {
    'S3 access key': S3_ACCESS_KEY,
    'S3 secret key': S3_SECRET_KEY,
    'OAuth client secret': OAUTH_CLIENT_SECRET,
    'signing secret': SIGNING_SECRET,
    'signing secret key': SIGNING_SECRET.slice('whsec_'.length),
    'JWT secret': env.JWT_SECRET,
    'API client secret': env.API_CLIENT_SECRET,
    SECRETS_KEY: env.SECRETS_KEY,
    'API bearer token': api.token,
    'OAuth Basic credentials': Buffer.from(`e2e-hooks:${OAUTH_CLIENT_SECRET}`).toString('base64'),
    'signing secret, URL-encoded': encodeURIComponent(SIGNING_SECRET)
  }
  issuedOAuthTokens.forEach((t, i) => { secrets[`OAuth access token ${i}`] = t })
  assert.ok(issuedOAuthTokens.length > 0)
  for (const [what, value] of Object.entries(secrets)) {
    assert.ok(value.length >= 8)
    assert.ok(!logs.includes(value), `${what} appears in the logs`)
  }
})
