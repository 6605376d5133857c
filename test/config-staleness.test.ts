import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { Redis } from 'ioredis'
import { createBucketStore } from '@internal/buckets'
import { createKeys } from '@internal/redis'
import { startRedis, type RedisServer } from './support/redis-server.ts'
import { startFakeS3, type FakeS3 } from './support/fake-s3.ts'
import { waitFor } from './support/ports.ts'
import { spawnMonitor, sharedEnv, type MonitorProcess } from '../services/monitor/test/spawn-monitor.ts'

// A monitor process whose pub/sub subscription is broken (SUBSCRIBE refused by an ACL after its
// connection was killed) and whose periodic version check is an hour away: its memory of the
// notification switch is stale, yet every commit honours the switch as Redis holds it.

const QUEUE = 'linode:notifications:queue'
const BUCKET = 'stale-switch'
const keys = createKeys({ queueName: QUEUE, deadLetterName: 'linode:notifications:dead', statePrefix: 'linode:objstore:state:' })
let redisServer: RedisServer
let redis: Redis
let fake: FakeS3
let monitor: MonitorProcess | undefined

before(async () => { [redisServer, fake] = await Promise.all([startRedis(), startFakeS3()]); redis = redisServer.client() })
after(async () => {
  await monitor?.kill('SIGKILL')
  await Promise.all([redisServer.stop(), fake.close()])
})

const announced = async (): Promise<string[]> => (await redis.lrange(QUEUE, 0, -1)).map(r => JSON.parse(r).key)
const finishedScans = () => monitor!.logs.filter(l => l.message === 'scan finished' && l.bucket === BUCKET).length

async function readyDetail (): Promise<Record<string, unknown>> {
  return await (await fetch(`http://127.0.0.1:${monitor!.port}/ready`)).json() as Record<string, unknown>
}

async function subscriptionMetric (): Promise<string | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${monitor!.port}/metrics`)).text()
  return /^watch_folder_config_subscription_up(?:\{[^}]*\})? (\d)/m.exec(text)?.[1]
}

/** Waits for two more finished scans, so at least one whole scan ran after this call. */
async function twoMoreScans (): Promise<void> {
  const start = finishedScans()
  await waitFor(() => finishedScans() >= start + 2, { timeoutMs: 10_000, what: 'two more scans' })
}

async function breakSubscription (): Promise<void> {
  await redis.call('ACL', 'SETUSER', 'default', '-subscribe')
  await redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
  await waitFor(async () => (await readyDetail()).config_subscription === 'down', { what: '/ready showing the subscription down' })
}

async function restoreSubscription (): Promise<void> {
  await redis.call('ACL', 'SETUSER', 'default', '+subscribe')
  await waitFor(async () => (await readyDetail()).config_subscription === 'ok', { what: '/ready showing the subscription back' })
}

test('a monitor with a broken subscription and a stale memory honours every acknowledged enable and disable', async () => {
  fake.createBucket(BUCKET)
  const config = {
    defaults: { polling_interval: 0.3, first_scan: 'emit' },
    redis: { host: '127.0.0.1', port: redisServer.port, config_check_interval_ms: 60_000 },
    webhook: { allowed_networks: ['127.0.0.0/8'] },
    buckets: [{ name: BUCKET, endpoint: fake.endpoint, access_key: 'AK', secret_key: 'SK', webhook_url: 'http://127.0.0.1:9/hook' }]
  }
  monitor = await spawnMonitor(config, sharedEnv())
  const store = createBucketStore(redis, keys)
  await twoMoreScans()
  assert.equal(await subscriptionMetric(), '1')

  // Enable acknowledged while the monitor still believes the bucket disabled.
  assert.equal(await store.setNotifications(BUCKET, false), true)
  await twoMoreScans() // the disable reached the monitor through pub/sub
  await breakSubscription()
  assert.equal(await subscriptionMetric(), '0')
  // The log line may reach this process after the /ready answer: wait for it.
  await waitFor(() => monitor!.logs.some(l => String(l.message).startsWith('config subscription lost') && l.level === 'ERROR'), { what: 'the loss logged as an error' })
  assert.equal(await store.setNotifications(BUCKET, true), true)
  fake.put(BUCKET, 'after-enable.txt', 'one')
  await waitFor(async () => (await announced()).includes('after-enable.txt'), { timeoutMs: 10_000, what: 'the upload after the enable announced' })

  // Back up: the monitor subscribes again and reads everything (it now knows the bucket enabled).
  await restoreSubscription()
  assert.equal(await subscriptionMetric(), '1')

  // Disable acknowledged while the monitor still believes the bucket enabled.
  await breakSubscription()
  assert.equal(await store.setNotifications(BUCKET, false), true)
  fake.put(BUCKET, 'while-disabled.txt', 'two')
  await twoMoreScans()
  assert.deepEqual(await announced(), ['after-enable.txt'], 'nothing announced while disabled')

  assert.equal(await store.setNotifications(BUCKET, true), true)
  fake.put(BUCKET, 'after-second-enable.txt', 'three')
  await waitFor(async () => (await announced()).includes('after-second-enable.txt'), { timeoutMs: 10_000, what: 'the upload after the second enable announced' })
  await twoMoreScans()
  assert.deepEqual(await announced(), ['after-enable.txt', 'after-second-enable.txt'])
  await redis.call('ACL', 'SETUSER', 'default', '+subscribe')
})
