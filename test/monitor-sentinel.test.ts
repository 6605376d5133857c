import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Redis } from 'ioredis'
import { startSentinelTopology, type SentinelTopology } from './support/sentinel.ts'
import { startFakeS3, type FakeS3 } from './support/fake-s3.ts'
import { waitFor } from './support/ports.ts'
import { spawnMonitor, sharedEnv, ready, type MonitorProcess } from '../services/monitor/test/spawn-monitor.ts'

const QUEUE = 'linode:notifications:queue'
let topology: SentinelTopology
let fake: FakeS3
let monitor: MonitorProcess | undefined
let client: Redis

before(async () => {
  [topology, fake] = await Promise.all([startSentinelTopology(), startFakeS3()])
  client = new Redis({ sentinels: topology.sentinelPorts.map(port => ({ host: '127.0.0.1', port })), name: topology.masterName, maxRetriesPerRequest: 50 })
  client.on('error', () => {}) // expected while the master is down
})
after(async () => {
  await monitor?.kill('SIGKILL')
  client.disconnect()
  await Promise.all([topology.stop(), fake.close()])
})

async function keysQueued (): Promise<string[]> {
  try {
    return (await client.lrange(QUEUE, 0, -1)).map(r => JSON.parse(r).key as string)
  } catch {
    return [] // during the failover
  }
}

test('the monitor carries on when the Redis master is killed under Sentinel', async () => {
  const name = 'sentinel-bucket'
  fake.createBucket(name)
  for (let i = 0; i < 20; i++) fake.put(name, `before-${i}`, String(i))
  monitor = await spawnMonitor({
    defaults: { polling_interval: 1 },
    parallel: { lease_ttl: 2 },
    // WAIT for the replica after each commit, so what was enqueued before the kill survives it.
    redis: { sentinel_host: topology.sentinelHosts, master_name: topology.masterName, wait_replicas: 1, wait_timeout_ms: 200 },
    webhook: { allowed_networks: ['127.0.0.0/8'] },
    buckets: [{ name, endpoint: fake.endpoint, access_key: 'AK', secret_key: 'SK', webhook_url: 'http://127.0.0.1:9/hook' }]
  }, sharedEnv())
  await waitFor(async () => (await keysQueued()).length >= 20, { timeoutMs: 15_000, what: 'events before the failover' })
  const oldMaster = await topology.currentMasterPort()

  await topology.killMaster()
  fake.put(name, 'after-failover', 'x')
  await topology.waitForNewMaster(oldMaster)
  await waitFor(async () => (await keysQueued()).includes('after-failover'), { timeoutMs: 30_000, what: 'an event after the failover' })
  assert.equal(monitor.proc.exitCode, null, 'the monitor is still running')
  await waitFor(() => ready(monitor!.port), { timeoutMs: 10_000, what: '/ready after the failover' })

  const keys = await keysQueued()
  assert.equal(keys.filter(k => k === 'after-failover').length, 1)
  // Thanks to WAIT nothing enqueued before the kill was lost with the old master.
  for (let i = 0; i < 20; i++) assert.ok(keys.includes(`before-${i}`), `before-${i} on the new master`)
  const metrics = await (await fetch(`http://127.0.0.1:${monitor.port}/metrics`)).text()
  assert.match(metrics, /^watch_folder_redis_failovers_total [1-9]/m)
  assert.ok(monitor.logs.some(l => l.message === 'scan finished' && l.startedAt > Date.now() - 5000))
})
