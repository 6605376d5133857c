import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { startRedis, type RedisServer } from './support/redis-server.ts'
import { startFakeS3, type FakeS3 } from './support/fake-s3.ts'
import { startReceiver, type Receiver } from './support/receiver.ts'
import { waitFor } from './support/ports.ts'
import { spawnService, apiClient, type ServiceProcess } from '../services/monitor/test/api-processes.ts'
import { sharedEnv } from '../services/monitor/test/spawn-monitor.ts'

// Two buckets whose secret names were the same before (`A_DOT_B_*` for both `a.b` and
// `a-dot-b`), added through the monitor's API and delivered by the consumer, each signed with its own secret.

const DOTTED = 'col.lide'
const DASHED = 'col-dot-lide'
const signing: Record<string, string> = { [DOTTED]: `whsec_${randomBytes(24).toString('base64')}`, [DASHED]: `whsec_${randomBytes(24).toString('base64')}` }
const env = sharedEnv()
let redis: RedisServer
let s3: FakeS3
let receiver: Receiver
const services: ServiceProcess[] = []

before(async () => { [redis, s3, receiver] = await Promise.all([startRedis(), startFakeS3(), startReceiver()]) })
after(async () => {
  for (const service of services) await service.stop()
  await receiver.close()
  await s3.close()
  await redis.stop()
})

const delivered = (bucket: string, key: string) => receiver.requests.filter(r => r.json?.bucket === bucket && r.json?.key === key)

function assertSignedBy (bucket: string, key: string): void {
  const request = delivered(bucket, key)[0]!
  const headers = request.headers as Record<string, string>
  new Webhook(signing[bucket]!).verify(request.body, headers)
  const other = bucket === DOTTED ? DASHED : DOTTED
  assert.throws(() => new Webhook(signing[other]!).verify(request.body, headers), `${bucket} is not signed with ${other}'s secret`)
}

test('buckets whose secret names used to collide keep their own secrets, and deleting one leaves the other whole', async () => {
  const config = {
    defaults: { polling_interval: 0.5 },
    redis: { host: '127.0.0.1', port: redis.port },
    webhook: { allowed_networks: ['127.0.0.0/8'], timeout: 5 },
    consumer: { polling_interval: 0.2 }
  }
  services.push(await spawnService('monitor', config, env), await spawnService('consumer', config, env))
  const api = apiClient(services[0]!.port)
  await api.login(env.API_CLIENT_ID!, env.API_CLIENT_SECRET!)
  for (const name of [DOTTED, DASHED]) {
    s3.createBucket(name)
    const add = await api.call('POST', '/api/buckets/add', {
      name, access_key: `AK-${name}`, secret_key: `SK-${name}`, region: s3.endpoint, webhook_url: receiver.url, signing_secret: signing[name]
    })
    assert.equal(add.status, 201, JSON.stringify(add.json))
  }
  for (const name of [DOTTED, DASHED]) s3.put(name, 'first.txt', name)
  await waitFor(() => delivered(DOTTED, 'first.txt').length > 0 && delivered(DASHED, 'first.txt').length > 0, { timeoutMs: 20_000, what: 'both first uploads delivered' })
  assertSignedBy(DOTTED, 'first.txt')
  assertSignedBy(DASHED, 'first.txt')

  assert.equal((await api.call('POST', `/api/buckets/delete?bucket=${DOTTED}`)).status, 200)
  s3.put(DASHED, 'after-delete.txt', 'still here')
  await waitFor(() => delivered(DASHED, 'after-delete.txt').length > 0, { timeoutMs: 20_000, what: 'the remaining bucket still announced' })
  assertSignedBy(DASHED, 'after-delete.txt')
  const status = await api.call('GET', `/api/buckets/${DASHED}`)
  assert.equal(status.status, 200)
  assert.equal(status.json.status.last_error ?? null, null, 'its scans still find their S3 credentials')
})
