import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { startRedis, type RedisServer } from './support/redis-server.ts'
import { startS3, type S3TestServer } from './support/s3.ts'
import { startReceiver, type Receiver } from './support/receiver.ts'
import { startFakeInfisical, type FakeInfisical } from './support/fake-infisical.ts'
import { waitFor } from './support/ports.ts'
import { spawnService, apiClient, type ServiceProcess } from '../services/monitor/test/api-processes.ts'

// Monitor and consumer processes with Infisical as the secret store: the API writes the
// original's secret names there; while Infisical is down, scanning and delivery go on with
// cached secrets, and the monitor's readiness and metrics say the store is failing.

const SIGNING_SECRET = `whsec_${randomBytes(24).toString('base64')}`
let redis: RedisServer
let s3: S3TestServer
let fake: FakeInfisical
let receiver: Receiver
let monitor: ServiceProcess
let consumer: ServiceProcess
let api: ReturnType<typeof apiClient>

before(async () => {
  ;[redis, s3, fake, receiver] = await Promise.all([startRedis(), startS3(), startFakeInfisical(), startReceiver()])
  await s3.createBucket('vault-bucket')
  const env = {
    JWT_SECRET: randomBytes(32).toString('hex'),
    API_CLIENT_ID: 'admin',
    API_CLIENT_SECRET: randomBytes(16).toString('hex'),
    INFISICAL_API_URL: fake.url,
    INFISICAL_TOKEN: fake.serviceToken,
    INFISICAL_PROJECT_ID: 'proj',
    INFISICAL_ENV: 'dev',
    SHUTDOWN_TIMEOUT_MS: '3000'
  }
  const config = {
    defaults: { polling_interval: 1 },
    redis: { host: '127.0.0.1', port: redis.port },
    webhook: { allowed_networks: ['127.0.0.0/8'], timeout: 5 },
    consumer: { polling_interval: 0.2 }
  }
  monitor = await spawnService('monitor', config, env)
  consumer = await spawnService('consumer', config, env)
  api = apiClient(monitor.port)
  await api.login(env.API_CLIENT_ID, env.API_CLIENT_SECRET)
})

after(async () => {
  fake?.release()
  for (const service of [monitor, consumer]) await service?.stop()
  await Promise.all([receiver?.close(), fake?.close(), s3?.stop(), redis?.stop()])
})

const delivered = (key: string) => receiver.requests.some(r => r.json?.key === key)

test('Infisical holds the secrets; while it is down scanning and delivery go on and the monitor says so', async () => {
  const add = await api.call('POST', '/api/buckets/add', {
    name: 'vault-bucket', access_key: s3.accessKey, secret_key: s3.secretKey, endpoint: s3.endpoint, webhook_url: receiver.url, signing_secret: SIGNING_SECRET
  })
  assert.equal(add.status, 201, JSON.stringify(add.json))
  assert.equal(fake.value('VAULT_BUCKET_ACCESS_KEY'), s3.accessKey)
  assert.equal(fake.value('VAULT_BUCKET_SIGNING_SECRET'), SIGNING_SECRET)
  assert.deepEqual(await redis.client().hkeys('linode:objstore:secrets'), [], 'nothing in the embedded store')

  await s3.put('vault-bucket', 'a/before.txt', 'one')
  await waitFor(() => delivered('a/before.txt'), { timeoutMs: 20_000, what: 'webhook before the outage' })
  const first = receiver.requests.find(r => r.json?.key === 'a/before.txt')!
  new Webhook(SIGNING_SECRET).verify(first.body, first.headers as Record<string, string>)

  fake.mode = 503
  await s3.put('vault-bucket', 'a/during.txt', 'two')
  await waitFor(() => delivered('a/during.txt'), { timeoutMs: 20_000, what: 'webhook during the outage' })
  const refused = await api.call('POST', '/api/buckets/add', { name: 'vault-two', access_key: s3.accessKey, secret_key: s3.secretKey, endpoint: s3.endpoint, webhook_url: receiver.url })
  assert.equal(refused.status, 422, 'no such bucket on S3: refused before any secret is written')
  await s3.createBucket('vault-two')
  const failed = await api.call('POST', '/api/buckets/add', { name: 'vault-two', access_key: s3.accessKey, secret_key: s3.secretKey, endpoint: s3.endpoint, webhook_url: receiver.url })
  assert.equal(failed.status, 500)
  assert.match(failed.json.error, /^Failed to store credentials securely/)
  const ready = await fetch(`http://127.0.0.1:${monitor.port}/ready`)
  assert.equal(ready.status, 503)
  assert.equal((await ready.json() as { secrets: string }).secrets, 'error')
  const metrics = await (await fetch(`http://127.0.0.1:${monitor.port}/metrics`)).text()
  assert.match(metrics, /watch_folder_secret_store_up\{store="infisical"[^}]*\} 0/)

  fake.release()
  const retried = await api.call('POST', '/api/buckets/add', { name: 'vault-two', access_key: s3.accessKey, secret_key: s3.secretKey, endpoint: s3.endpoint, webhook_url: receiver.url })
  assert.equal(retried.status, 201, JSON.stringify(retried.json))
  assert.equal((await fetch(`http://127.0.0.1:${monitor.port}/ready`)).status, 200, 'ready again once Infisical answers')
})
