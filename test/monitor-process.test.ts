import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { startRedis, type RedisServer } from './support/redis-server.ts'
import { startFakeS3, type FakeS3 } from './support/fake-s3.ts'
import { waitFor } from './support/ports.ts'
import { spawnMonitor, sharedEnv, type MonitorProcess } from '../services/monitor/test/spawn-monitor.ts'

// Monitors as real child processes running main.ts, sharing one redis-server and a fake S3 over HTTP.

const QUEUE = 'linode:notifications:queue'
let redisServer: RedisServer
let redis: Redis
let fake: FakeS3
const running: MonitorProcess[] = []

before(async () => { [redisServer, fake] = await Promise.all([startRedis(), startFakeS3()]); redis = redisServer.client() })
after(async () => {
  await Promise.all(running.map(m => m.kill('SIGKILL')))
  await Promise.all([redisServer.stop(), fake.close()])
})

function configFor (buckets: string[], extra: { interval: number, leaseTtl: number }) {
  return {
    defaults: { polling_interval: extra.interval, first_scan: 'emit' },
    // `equal` spreads the buckets over the interval, so both replicas find work.
    parallel: { lease_ttl: extra.leaseTtl, max_workers: 4, stagger_method: 'equal' },
    redis: { host: '127.0.0.1', port: redisServer.port },
    webhook: { allowed_networks: ['127.0.0.0/8'] },
    buckets: buckets.map(name => ({ name, endpoint: fake.endpoint, access_key: 'AK', secret_key: 'SK', webhook_url: 'http://127.0.0.1:9/hook' }))
  }
}

async function start (config: Record<string, unknown>, env: Record<string, string>): Promise<MonitorProcess> {
  const monitor = await spawnMonitor(config, env)
  running.push(monitor)
  return monitor
}

async function queued (): Promise<Array<Record<string, any>>> {
  return (await redis.lrange(QUEUE, 0, -1)).map(r => JSON.parse(r))
}

test('start-up refuses bad buckets and variables, listing every problem', async () => {
  const config = { redis: { host: '127.0.0.1', port: redisServer.port }, buckets: [{ name: 'Bad_Name', access_key: 'a', secret_key: 'b' }, { name: 'ok-bucket' }] }
  const monitor = await spawnMonitor(config, { ...sharedEnv(), JWT_SECRET: 'short' }, { waitReady: false })
  assert.equal(await monitor.exitCode, 1)
  assert.match(monitor.stderr(), /JWT_SECRET: must be at least 32 bytes/)
  const withBuckets = await spawnMonitor(config, sharedEnv(), { waitReady: false })
  assert.equal(await withBuckets.exitCode, 1)
  assert.match(withBuckets.stderr(), /buckets\[0\] \(Bad_Name\) name/)
  assert.match(withBuckets.stderr(), /buckets\[1\] \(ok-bucket\) access_key/)
  const internal = { ...config, buckets: [{ name: 'metadata', endpoint: 'http://169.254.169.254', access_key: 'a', secret_key: 'b', webhook_url: 'http://127.0.0.1:9/h' }] }
  const refused = await spawnMonitor(internal, sharedEnv(), { waitReady: false })
  assert.equal(await refused.exitCode, 1)
  assert.match(refused.stderr(), /buckets\[0\] \(metadata\)\.endpoint/)
  assert.match(refused.stderr(), /buckets\[0\] \(metadata\)\.webhook_url/)
})

test('two monitor processes scan each due bucket once per interval and emit each change once', async () => {
  await redis.flushall()
  const names = ['pair-a', 'pair-b', 'pair-c', 'pair-d']
  for (const name of names) {
    fake.createBucket(name)
    for (let i = 0; i < 30; i++) fake.put(name, `obj-${i}`, `v${i}`)
  }
  const env = sharedEnv()
  const config = configFor(names, { interval: 2, leaseTtl: 3 })
  const [a, b] = await Promise.all([start(config, env), start(config, env)])
  await waitFor(async () => await redis.llen(QUEUE) === 120, { timeoutMs: 15_000, what: 'first scans' })
  for (const name of names) { fake.put(name, 'obj-0', 'changed'); fake.put(name, 'late', 'new') }
  await waitFor(async () => await redis.llen(QUEUE) === 128, { timeoutMs: 15_000, what: 'changes' })
  await sleep(4000) // more rescans: nothing more may be enqueued
  // Which replica wins a claim is a race; over a few more intervals both win some.
  const scanned = (m: typeof a) => m.logs.some(l => l.message === 'scan finished')
  await waitFor(() => scanned(a) && scanned(b), { timeoutMs: 20_000, what: 'scans by both replicas' })
  const stopping = Date.now()
  await Promise.all([a.kill('SIGTERM'), b.kill('SIGTERM')])
  assert.deepEqual(await Promise.all([a.exitCode, b.exitCode]), [0, 0])
  assert.ok(Date.now() - stopping < 5000, 'stopped within SHUTDOWN_TIMEOUT_MS')
  assert.deepEqual(await redis.keys('linode:objstore:lease:*'), [], 'leases released')
  assert.ok(a.logs.some(l => l.message === 'stopping: no new buckets, aborting scans, releasing leases'))

  const events = await queued()
  assert.equal(events.length, 128)
  assert.equal(new Set(events.map(e => e.event_id)).size, 128)
  assert.deepEqual(events.filter(e => e.event_type === 'updated').map(e => `${e.bucket}/${e.key}`).sort(), names.map(n => `${n}/obj-0`))

  const scans = [...a.logs, ...b.logs].filter(l => l.message === 'scan finished')
  assert.ok(a.logs.some(l => l.message === 'scan finished') && b.logs.some(l => l.message === 'scan finished'), 'both replicas scanned')
  for (const name of names) {
    const starts = scans.filter(s => s.bucket === name && s.outcome === 'ok').map(s => s.startedAt as number).sort((x, y) => x - y)
    assert.ok(starts.length >= 3, `${name}: ${starts.length} scans`)
    // The first scan comes at once, the second on the bucket's stagger slot (anywhere in the
    // next interval); from then on due times are 2 s apart and a claim happens within one 0.5 s
    // poll of its due time.
    for (let i = 2; i < starts.length; i++) assert.ok(starts[i]! - starts[i - 1]! >= 1400, `${name} scanned twice in one interval: ${starts[i]! - starts[i - 1]!} ms`)
  }
})

test('kill -9 during a scan, restart: no change missed, none enqueued twice', async () => {
  await redis.flushall()
  const name = 'crash-bucket'
  fake.createBucket(name)
  const keyOf = (i: number) => `data/${String(i).padStart(5, '0')}.bin`
  fake.seed(name, Array.from({ length: 4000 }, (_, i) => ({ key: keyOf(i) })))
  fake.latencyMs = 4
  const env = sharedEnv()
  const config = configFor([name], { interval: 1, leaseTtl: 2 })
  const first = await start(config, env)
  await waitFor(async () => await redis.llen(QUEUE) >= 400, { timeoutMs: 20_000, everyMs: 5, what: 'part of the first scan' })
  await first.kill('SIGKILL')
  const atCrash = await redis.llen(QUEUE)
  assert.ok(atCrash < 4000, `killed mid-scan (${atCrash} queued)`)
  assert.equal(await redis.exists(`linode:objstore:lease:${name}`), 1, 'the dead replica still holds the lease')

  // Changes while no monitor runs: an announced object deleted, another updated, a new one.
  fake.remove(name, keyOf(0))
  fake.put(name, keyOf(1), 'rewritten')
  fake.put(name, 'zzz/new.bin', 'new')
  const second = await start(config, env)
  await waitFor(async () => await redis.llen(QUEUE) >= 4003, { timeoutMs: 30_000, what: 'the rest after restart' })
  await sleep(2500) // another full rescan: nothing more
  await second.kill('SIGTERM')
  fake.latencyMs = 0

  const events = await queued()
  assert.equal(events.length, 4003)
  assert.equal(new Set(events.map(e => e.event_id)).size, 4003)
  const created = events.filter(e => e.event_type === 'created')
  assert.equal(new Set(created.map(e => e.key)).size, 4001)
  assert.deepEqual(events.filter(e => e.event_type !== 'created').map(e => `${e.event_type} ${e.key}`).sort(), [`deleted ${keyOf(0)}`, `updated ${keyOf(1)}`])
  assert.ok(second.logs.some(l => l.message === 'scan finished' && l.outcome === 'ok'))
})

const OLD = Date.now() - 3 * 86_400_000
const scansFinished = (m: MonitorProcess) => m.logs.filter(l => l.message === 'scan finished' && l.outcome === 'ok')

// Killed while it lists a bucket as several concurrent key ranges, deletions staged.
test('kill -9 in the middle of a parallel scan, restart: nothing missed, nothing twice', async () => {
  await redis.flushall()
  const name = 'ranges-bucket'
  fake.createBucket(name)
  const keyOf = (i: number) => `data/${String(i).padStart(5, '0')}.bin`
  fake.seed(name, Array.from({ length: 6000 }, (_, i) => ({ key: keyOf(i), lastModified: OLD })))
  const config = {
    defaults: { polling_interval: 1, first_scan: 'emit', max_objects_per_batch: 100 },
    parallel: { lease_ttl: 2, rate_limit_per_region: 4 },
    redis: { host: '127.0.0.1', port: redisServer.port },
    webhook: { allowed_networks: ['127.0.0.0/8'] },
    buckets: [{ name, endpoint: fake.endpoint, access_key: 'AK', secret_key: 'SK', webhook_url: 'http://127.0.0.1:9/hook' }]
  }
  const env = sharedEnv()
  const first = await start(config, env)
  await waitFor(async () => scansFinished(first).length >= 1, { timeoutMs: 30_000, what: 'the first scan' })
  assert.equal(await redis.llen(QUEUE), 6000)

  // Changes all over the key space, then a slow store so that the next scan is caught mid-way.
  const removed = Array.from({ length: 6000 }, (_, i) => i).filter(i => i % 40 === 3).map(keyOf)
  const updated = Array.from({ length: 6000 }, (_, i) => i).filter(i => i % 100 === 50).map(keyOf)
  const added = Array.from({ length: 150 }, (_, i) => `data/${String(i * 40).padStart(5, '0')}.bin.new`)
  for (const key of removed) fake.remove(name, key)
  fake.seed(name, [...updated.map(key => ({ key, etag: 'e'.repeat(32), lastModified: OLD })), ...added.map(key => ({ key, lastModified: OLD }))])
  fake.latencyMs = 15
  const scansBefore = scansFinished(first).length
  await waitFor(async () => await redis.llen(QUEUE) >= 6000 + 40, { timeoutMs: 30_000, everyMs: 5, what: 'part of the second scan' })
  await first.kill('SIGKILL')
  assert.equal(scansFinished(first).length, scansBefore, 'killed before the scan finished')
  const atCrash = await redis.llen(QUEUE)
  assert.ok(atCrash < 6000 + removed.length + updated.length + added.length, `killed mid-scan (${atCrash - 6000} changes queued)`)

  const second = await start(config, env)
  const total = 6000 + removed.length + updated.length + added.length
  await waitFor(async () => await redis.llen(QUEUE) >= total, { timeoutMs: 60_000, what: 'the rest after restart' })
  fake.latencyMs = 0
  const finished = scansFinished(second).length
  await waitFor(async () => scansFinished(second).length >= finished + 2, { timeoutMs: 30_000, what: 'two more rescans' })
  await second.kill('SIGTERM')

  const events = (await redis.lrange(QUEUE, 0, -1)).map(r => JSON.parse(r) as { event_type: string, key: string, event_id: string })
  assert.equal(events.length, total)
  assert.equal(new Set(events.map(e => e.event_id)).size, total)
  const changes = events.slice(6000).map(e => `${e.event_type} ${e.key}`).sort()
  const expected = [...removed.map(k => `deleted ${k}`), ...updated.map(k => `updated ${k}`), ...added.map(k => `detected ${k}`)].sort()
  assert.deepEqual(changes, expected)
  assert.ok(second.logs.some(l => l.message === 'scan finished' && l.outcome === 'ok' && l.listed === 6000 - removed.length + added.length && l.ranges > 1))
})

test('a store that never answers for 16 buckets: a healthy bucket keeps its latency, the hung buckets show in /ready and recover with the store', async (t) => {
  await redis.flushall()
  const hung = Array.from({ length: 16 }, (_, i) => `hung-${String(i).padStart(2, '0')}`)
  const healthy = 'healthy-bucket'
  for (const name of [...hung, healthy]) { fake.createBucket(name); fake.put(name, 'before', 'b') }
  t.after(() => fake.hang.clear())
  const config = {
    ...configFor([...hung, healthy], { interval: 2, leaseTtl: 5 }),
    // The default region limit (15) with short deadlines, so the fault is seen within the test;
    // a hung request gives its slot back after 3 s (its first-byte timeout), long before its 6 s deadline.
    parallel: { lease_ttl: 5, max_workers: 60, rate_limit_per_region: 15, stagger_method: 'equal', s3_connect_timeout: 1, s3_request_timeout: 3, s3_request_deadline: 6, scan_timeout: 30 }
  }
  const monitor = await start(config, sharedEnv())
  await waitFor(async () => await redis.llen(QUEUE) === 17, { timeoutMs: 15_000, what: 'first scans' })
  for (const name of hung) { fake.hang.set(name, 'silent'); fake.put(name, 'during', 'd') }

  // One upload to the healthy bucket a second for 12 s, while every request of the 16 others hangs.
  const uploaded = new Map<string, number>()
  const seen = new Map<string, number>()
  const watching = setInterval(() => {
    redis.lrange(QUEUE, 0, -1).then(raw => {
      for (const e of raw.map(r => JSON.parse(r))) if (e.bucket === healthy && !seen.has(e.key)) seen.set(e.key, Date.now())
    }).catch(() => {})
  }, 100)
  t.after(() => clearInterval(watching))
  for (let i = 0; i < 12; i++) {
    const key = `upload-${i}`
    fake.put(healthy, key, key)
    uploaded.set(key, Date.now())
    await sleep(1000)
  }
  await waitFor(() => seen.size === 13, { timeoutMs: 10_000, what: 'every healthy upload announced' })
  const latencies = [...uploaded].map(([key, at]) => seen.get(key)! - at)
  const readiness = await (await fetch(`http://127.0.0.1:${monitor.port}/ready`)).json() as Record<string, unknown>

  fake.hang.clear()
  await waitFor(async () => (await queued()).filter(e => e.key === 'during').length === 16, { timeoutMs: 40_000, what: 'hung buckets recovered' })
  clearInterval(watching)

  const failed = monitor.logs.filter(l => l.message === 'scan failed' && hung.includes(l.bucket))
  const detectMs = failed.map(l => l.durationMs as number)
  t.diagnostic(`healthy latency ms: max ${Math.max(...latencies)}, all ${latencies.join(' ')}; hung scans failed after ms: min ${Math.min(...detectMs)} max ${Math.max(...detectMs)} (${failed.length} failures)`)
  assert.ok(Math.max(...latencies) <= 2000 + 5000, `healthy bucket latencies ${latencies.join(', ')} ms`)
  assert.ok(failed.length >= 16, `${failed.length} failed hung scans`)
  assert.ok(failed.every(l => /S3_REQUEST_TIMEOUT|timed out/.test(JSON.stringify(l.err))), JSON.stringify(failed[0]))
  // The 6 s deadline, plus at most the 3 s a 16th bucket waits for a slot a hung request gives back.
  assert.ok(Math.max(...detectMs) < 10_000, `a hung scan failed after ${Math.max(...detectMs)} ms`)
  assert.equal(readiness.stuck_scans, 0)
  assert.ok(Number(readiness.buckets_timing_out) >= 8, JSON.stringify(readiness))
  const metrics = await (await fetch(`http://127.0.0.1:${monitor.port}/metrics`)).text()
  assert.match(metrics, /watch_folder_s3_request_timeouts_total\{[^}]*operation="list"[^}]*\} [1-9]/)
  assert.match(metrics, /^watch_folder_scans_stuck 0$/m)
  await monitor.kill('SIGTERM')
})
