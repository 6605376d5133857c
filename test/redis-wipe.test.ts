import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { Redis } from 'ioredis'
import { startRedis, type RedisServer } from './support/redis-server.ts'
import { startFakeS3, type FakeS3 } from './support/fake-s3.ts'
import { waitFor } from './support/ports.ts'
import { spawnService, type ServiceProcess } from './support/services.ts'
import { sharedEnv } from '../services/monitor/test/spawn-monitor.ts'

// Redis emptied (FLUSHALL) under a running monitor and consumer: both notice it, say so in
// /ready, the log and a metric, and the monitor puts the config file's bucket back.

const QUEUE = 'linode:notifications:queue'
const BUCKET = 'from-config-file'
let redisServer: RedisServer
let redis: Redis
let fake: FakeS3
const services: ServiceProcess[] = []

before(async () => { [redisServer, fake] = await Promise.all([startRedis(), startFakeS3()]); redis = redisServer.client() })
after(async () => {
  for (const s of services) if (s.proc.exitCode !== null) console.log(`${s.name} exited ${s.proc.exitCode}: ${s.output().slice(-3000)}`)
  await Promise.all(services.map(s => s.kill('SIGKILL')))
  await Promise.all([redisServer.stop(), fake.close()])
})

// A request that fails (a connection reset while Redis restarts under the service) reads as "not yet", so the waits poll on.
const ready = async (s: ServiceProcess) => {
  const res = await fetch(`http://127.0.0.1:${s.port}/ready`).catch(() => undefined)
  return { status: res?.status ?? 0, body: (await res?.json().catch(() => undefined) ?? {}) as Record<string, unknown> }
}
const metric = async (s: ServiceProcess, name: string) => {
  const text = await fetch(`http://127.0.0.1:${s.port}/metrics`).then(r => r.text(), () => '')
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text)?.[1])
}
const announced = async () => (await redis.lrange(QUEUE, 0, -1)).map(r => JSON.parse(r).key as string)

test('a wiped Redis is detected, shown in /ready and metrics, and the config file\'s buckets are re-seeded', async () => {
  fake.createBucket(BUCKET)
  const config = {
    defaults: { polling_interval: 0.3, first_scan: 'emit' },
    redis: { host: '127.0.0.1', port: redisServer.port },
    webhook: { allowed_networks: ['127.0.0.0/8'] },
    buckets: [{ name: BUCKET, endpoint: fake.endpoint, access_key: 'AK', secret_key: 'SK', webhook_url: 'http://127.0.0.1:9/hook' }]
  }
  const env = sharedEnv()
  const monitor = await spawnService('monitor', 'monitor', config, env)
  services.push(monitor)
  assert.deepEqual((await ready(monitor)).body.redis_state, 'ok')
  const marker = await redis.get('linode:objstore:instance')
  assert.ok(marker, 'the first start wrote the instance marker')

  await redis.flushall()
  const wipedAt = Date.now()
  await waitFor(async () => (await ready(monitor)).body.redis_state === 'wiped', { timeoutMs: 5000, what: 'monitor /ready showing the wipe' })
  const detectedMs = Date.now() - wipedAt
  const answer = await ready(monitor)
  assert.equal(answer.status, 200, 'still ready: the API must stay reachable to add the lost buckets again')
  assert.ok(typeof answer.body.redis_wiped_at === 'string')
  assert.equal(await metric(monitor, 'watch_folder_redis_wiped_total'), 1)
  assert.ok(monitor.logs.some(l => l.level === 'ERROR' && String(l.message).startsWith('redis lost its data')), 'logged as an error')
  assert.notEqual(await redis.get('linode:objstore:instance'), null, 'a new marker is written')

  // Re-seeded with its secrets: an upload after the wipe is announced.
  await waitFor(async () => await redis.exists(`linode:objstore:config:bucket:${BUCKET}`) === 1, { timeoutMs: 5000, what: 'the bucket re-seeded' })
  fake.put(BUCKET, 'after-wipe.txt', 'x')
  await waitFor(async () => (await announced()).includes('after-wipe.txt'), { timeoutMs: 10_000, what: 'the upload after the wipe announced' })
  assert.equal(await metric(monitor, 'watch_folder_redis_wiped_total'), 1, 'one wipe, counted once')
  console.log(`wipe detected by the monitor in ${detectedMs} ms`)

  // A replica that starts after the wipe sees the new marker, and one running sees the next wipe.
  const consumer = await spawnService('consumer', 'consumer', config, env)
  services.push(consumer)
  assert.equal((await ready(consumer)).body.redis_state, 'ok')
  await redis.flushall()
  await waitFor(async () => (await ready(consumer)).body.redis_state === 'wiped' && (await ready(monitor)).body.redis_state === 'wiped', { timeoutMs: 5000, what: 'both /ready showing the second wipe' })
  assert.equal(await metric(consumer, 'watch_folder_redis_wiped_total'), 1)
  await waitFor(async () => await metric(monitor, 'watch_folder_redis_wiped_total') === 2, { timeoutMs: 5000, what: 'the second wipe counted' })

  // redis-server restarted without its data: found on reconnect, the bucket back, uploads announced.
  await redisServer.restart()
  await waitFor(async () => await metric(monitor, 'watch_folder_redis_wiped_total') === 3, { timeoutMs: 10_000, what: 'the restart counted as a wipe' })
  await waitFor(async () => await metric(consumer, 'watch_folder_redis_wiped_total') === 2, { timeoutMs: 10_000, what: 'the consumer counting the restart' })
  await waitFor(async () => await redis.exists(`linode:objstore:config:bucket:${BUCKET}`) === 1, { timeoutMs: 5000, what: 'the bucket re-seeded after the restart' })
  // The consumer takes events off the queue now: its delivery attempts show the announcement.
  fake.put(BUCKET, 'after-restart.txt', 'y')
  await waitFor(() => consumer.logs.some(l => l.object_key === 'after-restart.txt'), { timeoutMs: 10_000, what: 'the upload after the restart announced' })
})
