import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import { createKeys } from '@internal/redis'
import { startRedis, type RedisServer } from './support/redis-server.ts'
import { startS3, type S3TestServer } from './support/s3.ts'
import { waitFor } from './support/ports.ts'
import { spawnService, apiClient, type ServiceProcess } from '../services/monitor/test/api-processes.ts'
import { trackedKeys } from '../services/monitor/test/state-support.ts'

// Upgrading in place: the monitor starts on a Redis the Python service filled (config with the
// S3 keys in plaintext after an update, per-object state strings, last_scan, a disabled
// switch) and carries on without re-announcing what the Python monitor already announced.

let redis: RedisServer
let s3: S3TestServer
let monitor: ServiceProcess
const QUEUE = 'linode:notifications:queue'

before(async () => {
  ;[redis, s3] = await Promise.all([startRedis(), startS3()])
})
after(async () => {
  await monitor?.stop()
  await Promise.all([s3?.stop(), redis?.stop()])
})

test('a monitor started on the Python monitor\'s Redis adopts its buckets and does not re-announce known objects', async () => {
  const client = redis.client()
  for (const name of ['old-photos', 'old-quiet']) {
    await s3.createBucket(name)
    for (let i = 0; i < 20; i++) await s3.put(name, `seed/d0000/obj-${String(i).padStart(7, '0')}.dat`, `v1-${i}`)
    await client.set(`linode:objstore:config:bucket:${name}`, JSON.stringify({
      name,
      endpoint: s3.endpoint,
      webhook_url: 'http://127.0.0.1:9/hook',
      status: 'active',
      added_at: '2026-11-01T09:00:00.000000',
      updated_at: '2026-11-02T09:00:00.000000',
      access_key: s3.accessKey,
      secret_key: s3.secretKey
    }))
    await client.set(`linode:objstore:last_scan:${name}`, String(Date.now() / 1000 - 30))
    const listing = (await s3.client.send(new ListObjectsV2Command({ Bucket: name }))).Contents ?? []
    for (const o of listing) {
      await client.setex(`linode:objstore:state:${name}:${o.Key}`, 2592000, JSON.stringify({
        etag: o.ETag!.replaceAll('"', ''), last_modified: o.LastModified!.getTime() / 1000, size: o.Size, last_processed: Date.now() / 1000, last_seen: Date.now() / 1000
      }))
    }
  }
  await client.set('linode:objstore:config:old-quiet:notifications_disabled', 'true')

  const env = { JWT_SECRET: randomBytes(32).toString('hex'), API_CLIENT_ID: 'admin', API_CLIENT_SECRET: randomBytes(16).toString('hex'), SECRETS_KEY: randomBytes(32).toString('base64'), SHUTDOWN_TIMEOUT_MS: '3000' }
  monitor = await spawnService('monitor', { defaults: { polling_interval: 1 }, redis: { host: '127.0.0.1', port: redis.port }, webhook: { allowed_networks: ['127.0.0.0/8'] } }, env)
  const api = apiClient(monitor.port)
  await api.login(env.API_CLIENT_ID, env.API_CLIENT_SECRET)
  const scans = async () => (await api.call('GET', '/api/buckets/old-photos')).json.status.scans_total as number
  await waitFor(async () => await scans() >= 2, { timeoutMs: 20_000, everyMs: 200, what: 'two scans of the adopted bucket' })

  assert.equal(await client.llen(QUEUE), 0, 'nothing the Python monitor announced is announced again')
  const config = await client.get('linode:objstore:config:bucket:old-photos')
  assert.ok(config && !config.includes(s3.secretKey) && !config.includes('access_key'), 'the S3 keys left the config JSON')
  assert.deepEqual(await client.keys('linode:objstore:state:old-photos:*'), [], 'the per-object strings became the state hash')
  assert.equal(await client.exists('linode:objstore:state:old-photos'), 0, 'the state hash became chunks at the first scan')
  const keys = createKeys({ queueName: QUEUE, deadLetterName: 'unused', statePrefix: 'linode:objstore:state:' })
  assert.equal((await trackedKeys(client, keys, 'old-photos')).length, 20)
  const status = (await api.call('GET', '/api/bucket-notifications/status')).json.buckets
  assert.deepEqual(status.map((b: { name: string, notifications_enabled: boolean }) => [b.name, b.notifications_enabled]), [['old-photos', true], ['old-quiet', false]])

  await s3.put('old-photos', 'seed/d0000/obj-0000003.dat', 'v2-changed')
  await s3.put('old-photos', 'seed/d0001/obj-0000100.dat', 'new')
  await waitFor(async () => await client.llen(QUEUE) >= 2, { timeoutMs: 20_000, what: 'events for the changed and the new object' })
  await new Promise(resolve => setTimeout(resolve, 1500))
  const events = (await client.lrange(QUEUE, 0, -1)).map(e => JSON.parse(e) as { key: string, event_type: string })
  assert.deepEqual(events.map(e => [e.key, e.event_type]).sort(), [['seed/d0000/obj-0000003.dat', 'updated'], ['seed/d0001/obj-0000100.dat', 'created']])
})
