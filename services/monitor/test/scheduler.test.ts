import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { createKeys, type Keys } from '@internal/redis'
import { createLogger, createRegistry } from '@internal/telemetry'
import { BucketRegistry, createBucketStore, createMemorySecretStore, createCachedSecretStore, bucketSecretNames, type BucketStore } from '@internal/buckets'
import type { Redis } from 'ioredis'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { startFakeS3, type FakeS3 } from '../../../test/support/fake-s3.ts'
import { waitFor } from '../../../test/support/ports.ts'
import { startS3 } from '../../../test/support/s3.ts'
import { Scheduler, type SchedulerDeps } from '../src/scheduler.ts'
import { createResync } from '../src/resync.ts'
import { testScanDeps } from './scan-harness.ts'
import { LimiterMap } from '../src/limiter.ts'
import { S3ClientCache } from '../src/s3-clients.ts'
import { createMonitorMetrics } from '../src/metrics.ts'
import { javaHash, staggerOffsetMs, firstDue, nextDue, backoffMs } from '../src/stagger.ts'
import { readScanStatus } from '../src/scan-status.ts'
import type { ScanReport } from '../src/scan-status.ts'

let server: RedisServer
let redis: Redis
let fake: FakeS3
before(async () => { [server, fake] = await Promise.all([startRedis(), startFakeS3()]); redis = server.client() })
after(async () => { await Promise.all([server.stop(), fake.close()]) })

test('stagger offsets: the Python monitor\'s hash, equal spacing, and phase kept across scans', () => {
  // Python: h = (h * 31 + ord(c)) & 0xFFFFFFFF over "photos" gives 3305932929 (Java's "photos".hashCode() is -989034367).
  assert.equal(javaHash('photos'), 3305932929)
  assert.equal(staggerOffsetMs('hash', 'photos', 60_000, []), staggerOffsetMs('hash', 'photos', 60_000, ['other']))
  // Names one character apart spread over the interval instead of landing 1 ms apart.
  const similar = ['logs-a', 'logs-b', 'logs-c', 'logs-d'].map(n => staggerOffsetMs('hash', n, 60_000, [])).sort((a, b) => a - b)
  assert.ok(similar.slice(1).every((v, i) => v - similar[i]! > 1000), `offsets ${similar.join(', ')}`)
  assert.deepEqual(['a', 'b', 'c', 'd'].map(n => staggerOffsetMs('equal', n, 60_000, ['d', 'c', 'b', 'a'])), [0, 15_000, 30_000, 45_000])
  assert.equal(staggerOffsetMs('random', 'x', 60_000, [], () => 0.5), 30_000)
  assert.equal(firstDue(1_000_000, 60_000, 15_000), 1_035_000)
  assert.equal(firstDue(1_035_000, 60_000, 15_000), 1_095_000)
  assert.equal(nextDue(1_040_000, 60_000, 1_035_000), 1_095_000)
  assert.equal(nextDue(1_200_000, 60_000, 1_035_000), 1_215_000) // a long scan skips the slots it overran
  assert.equal(backoffMs(1, () => 0.5), 5000)
  assert.equal(backoffMs(3, () => 0.5), 20_000)
  assert.equal(backoffMs(30, () => 0.5), 600_000)
})

interface Fixture {
  keys: Keys
  store: BucketStore
  clock: { t: number }
  /** A bucket on the schedule an hour ahead (tests set its due time), or, with `fresh`, not yet on it. */
  addBucket: (name: string, opts?: { fresh?: boolean }) => Promise<void>
  make: (owner: string, extra?: Partial<SchedulerDeps>) => Promise<{ scheduler: Scheduler, scans: Array<[string, ScanReport]>, deps: SchedulerDeps }>
}

async function fixture (t: { after: (fn: () => Promise<void>) => void }): Promise<Fixture> {
  const prefix = `s${randomUUID().slice(0, 8)}`
  const keys = createKeys({ queueName: `${prefix}:queue`, deadLetterName: `${prefix}:dead`, statePrefix: `${prefix}:state:` })
  // Schedule and config keys are global: each test flushes this file's private redis-server first.
  const store = createBucketStore(redis, keys)
  const clock = { t: Date.now() }
  const secrets = createMemorySecretStore()
  const closers: Array<() => Promise<void>> = []
  t.after(async () => { for (const close of closers.reverse()) await close() })
  const make: Fixture['make'] = async (owner, extra = {}) => {
    const registry = new BucketRegistry({ store, keys, subscriber: server.client(), checkIntervalMs: 60_000 })
    await registry.start()
    const scans: Array<[string, ScanReport]> = []
    const metrics = createMonitorMetrics(createRegistry({ defaults: false }))
    const deps: SchedulerDeps = {
      ...testScanDeps(redis, keys, () => clock.t),
      clients: new S3ClientCache({ signingRegion: 'us-east-1', maxAttempts: 1, onHit: () => metrics.clientCacheHits.inc(), onMiss: () => metrics.clientCacheMisses.inc() }),
      secrets: createCachedSecretStore(secrets, { ttlMs: 60_000 }),
      regions: new LimiterMap(4),
      metrics,
      owner,
      leaseTtlMs: 30_000,
      defaults: { pollingIntervalSec: 60, firstScan: 'emit', signingRegion: 'us-east-1' },
      random: () => 0.5,
      registry,
      maxWorkers: 2,
      staggerMethod: 'hash',
      tickMs: 60_000,
      onScan: (name, report) => scans.push([name, report]),
      ...extra
    }
    const scheduler = new Scheduler(deps)
    closers.push(async () => { await scheduler.close(); await registry.close(); deps.clients.close() })
    return { scheduler, scans, deps }
  }
  const addBucket = async (name: string, { fresh = false } = {}) => {
    if (!fresh) await redis.zadd(keys.schedule, clock.t + 3_600_000, name)
    fake.createBucket(name)
    const names = bucketSecretNames(name)
    await secrets.set(names.ACCESS_KEY, 'AK')
    await secrets.set(names.SECRET_KEY, 'SK')
    await store.save({ name, endpoint: fake.endpoint, status: 'active' }, 'put')
  }
  return { keys, store, clock, make, addBucket }
}

test('two replicas scan each due bucket once per interval and emit each change once', async (t) => {
  await redis.flushall()
  const f = await fixture(t)
  const names = Array.from({ length: 6 }, (_, i) => `two-${i}-${randomUUID().slice(0, 6)}`)
  // The replicas are driven by their ticks alone (no background loop, whose wake-ups would
  // race the manual ticks): they learn the buckets as API additions, through the registry.
  const a = await f.make('replica-a')
  const b = await f.make('replica-b')
  for (const name of names) { await f.addBucket(name, { fresh: true }); fake.put(name, 'first', '1') }
  await waitFor(() => a.deps.registry.size === names.length && b.deps.registry.size === names.length, { what: 'both registries' })
  // New buckets are due at once: the first ticks scan each of them once.
  await Promise.all([a.scheduler.tick(), b.scheduler.tick()])
  await Promise.all([a.scheduler.idle(), b.scheduler.idle()])
  let flip = false
  const tickBoth = async () => {
    const [first, second] = flip ? [a, b] : [b, a]
    await Promise.all([first.scheduler.tick(), second.scheduler.tick()])
    await Promise.all([a.scheduler.idle(), b.scheduler.idle()])
  }
  // Three intervals in 5 s steps; objects change during the second.
  for (let step = 0; step < 36; step++) {
    f.clock.t += 5000
    flip = !flip
    if (step === 14) for (const name of names) fake.put(name, 'second', '2')
    await tickBoth()
    await tickBoth()
  }
  const all = [...a.scans, ...b.scans]
  for (const name of names) assert.equal(all.filter(([n]) => n === name).length, 4, `${name} scanned at once, then once per interval`)
  assert.ok(a.scans.length > 0 && b.scans.length > 0, 'both replicas did work')
  const events = (await redis.lrange(f.keys.queue, 0, -1)).map(r => JSON.parse(r))
  assert.equal(events.length, 12)
  assert.equal(new Set(events.map(e => `${e.bucket}/${e.key}`)).size, 12)
  const status = await readScanStatus(redis, f.keys, names[0]!)
  assert.equal(status.scans_total, 4)
  assert.equal(status.events_created, 2)
  assert.equal(status.objects_tracked, 2)
  assert.equal(status.last_scan_outcome, 'ok')
  assert.ok(status.next_scan_due !== null && Date.parse(status.next_scan_due) > f.clock.t)
})

test('a bucket added or re-enabled is scanned at once, then on its stagger slot', async (t) => {
  await redis.flushall()
  const f = await fixture(t)
  const a = await f.make('fresh')
  const name = `fresh-${randomUUID().slice(0, 6)}`
  await f.addBucket(name, { fresh: true })
  fake.put(name, 'first', '1')
  await waitFor(() => a.deps.registry.size === 1, { what: 'the new bucket in the registry' })
  const interval = 60_000
  const slot = staggerOffsetMs('hash', name, interval, [name])
  await a.scheduler.tick()
  await a.scheduler.idle()
  assert.deepEqual(a.scans.map(([n]) => n), [name], 'scanned in the first tick after it was added')
  assert.equal(Number(await redis.zscore(f.keys.schedule, name)), firstDue(f.clock.t, interval, slot), 'the next scan on its stagger slot')

  await f.store.setNotifications(name, false)
  await waitFor(() => a.deps.registry.get(name)?.notifications_enabled === false, { what: 'disabled' })
  await f.store.setNotifications(name, true)
  await waitFor(async () => Number(await redis.zscore(f.keys.schedule, name)) <= f.clock.t, { what: 're-enabled bucket due at once' })
  await a.scheduler.tick()
  await a.scheduler.idle()
  assert.equal(a.scans.length, 2, 'scanned again at once after the enable')
  assert.equal(Number(await redis.zscore(f.keys.schedule, name)), firstDue(f.clock.t, interval, slot), 'then on its stagger slot again')
})

test('a crashed replica\'s bucket is taken over when its lease runs out', async (t) => {
  await redis.flushall()
  const f = await fixture(t)
  const name = `crash-${randomUUID().slice(0, 6)}`
  await f.addBucket(name)
  fake.put(name, 'a', '1')
  const b = await f.make('survivor', { leaseTtlMs: 300 })
  b.scheduler.start()
  await sleep(50)
  // A replica claimed it and died: its lease is held, and the bucket falls due when the lease would run out.
  await redis.set(f.keys.lease(name), 'dead-replica', 'PX', 300)
  await redis.zadd(f.keys.schedule, f.clock.t + 300, name)
  f.clock.t += 100
  assert.deepEqual(await b.scheduler.tick(), [])
  f.clock.t += 300
  assert.deepEqual(await b.scheduler.tick(), [], 'the lease is still held in real time')
  await sleep(350)
  assert.deepEqual(await b.scheduler.tick(), [name])
  await b.scheduler.idle()
  assert.equal(await redis.llen(f.keys.queue), 1)
  assert.equal(await redis.exists(f.keys.lease(name)), 0, 'lease released after the scan')
})

test('S3 errors are per bucket: recorded, backed off, and the other buckets go on', async (t) => {
  await redis.flushall()
  const f = await fixture(t)
  const bad = `bad-${randomUUID().slice(0, 6)}`
  const good = `good-${randomUUID().slice(0, 6)}`
  await f.addBucket(bad)
  await f.addBucket(good)
  fake.put(good, 'g', '1')
  fake.put(bad, 'b', '1')
  fake.intercept = req => req.bucket === bad ? { status: 403, code: 'AccessDenied', message: 'Access Denied' } : undefined
  t.after(() => { fake.intercept = undefined })
  const a = await f.make('solo')
  a.scheduler.start()
  await sleep(50)
  await redis.zadd(f.keys.schedule, f.clock.t, bad, f.clock.t, good)
  await a.scheduler.tick()
  await a.scheduler.idle()
  const status = await readScanStatus(redis, f.keys, bad)
  assert.equal(status.last_scan_outcome, 'error')
  assert.match(status.last_error ?? '', /AccessDenied \(HTTP 403\)/)
  assert.equal(status.consecutive_failures, 1)
  assert.equal(Number(await redis.zscore(f.keys.schedule, bad)), f.clock.t + 5000)
  assert.equal((await readScanStatus(redis, f.keys, good)).last_scan_outcome, 'ok')
  assert.equal(await redis.llen(f.keys.queue), 1)

  f.clock.t += 5000
  await a.scheduler.tick()
  await a.scheduler.idle()
  assert.equal((await readScanStatus(redis, f.keys, bad)).consecutive_failures, 2)
  assert.equal(Number(await redis.zscore(f.keys.schedule, bad)), f.clock.t + 10_000)
  const metrics = await a.deps.metrics!.scanErrors.get()
  assert.equal(metrics.values.find(v => v.labels.kind === 'AccessDenied')?.value, 2)

  fake.intercept = undefined
  f.clock.t += 10_000
  await a.scheduler.tick()
  await a.scheduler.idle()
  const recovered = await readScanStatus(redis, f.keys, bad)
  assert.equal(recovered.last_scan_outcome, 'ok')
  assert.equal(recovered.consecutive_failures, 0)
  assert.equal(await redis.llen(f.keys.queue), 2)
})

const resyncFor = (f: Fixture, scheduler: Scheduler) => createResync({ redis, keys: f.keys, now: () => f.clock.t, wake: () => scheduler.wake() })

test('resync with forget re-announces under new event ids, each forget a new series; an endpoint change drops the cached client', async (t) => {
  await redis.flushall()
  const f = await fixture(t)
  const name = `rs-${randomUUID().slice(0, 6)}`
  await f.addBucket(name)
  fake.put(name, 'a', '1')
  const a = await f.make('solo')
  const resync = resyncFor(f, a.scheduler)
  a.scheduler.start()
  await sleep(50)
  await resync.resync(name, { forget: false })
  await a.scheduler.tick()
  await a.scheduler.idle()
  assert.equal(await redis.llen(f.keys.queue), 1)
  await resync.resync(name, { forget: true })
  assert.deepEqual(await a.scheduler.tick(), [name])
  await a.scheduler.idle()
  await resync.resync(name, { forget: true })
  await a.scheduler.tick()
  await a.scheduler.idle()
  const queued = (await redis.lrange(f.keys.queue, 0, -1)).map(e => JSON.parse(e) as { event_id: string, key: string, etag: string })
  assert.deepEqual(queued.map(e => e.key), ['a', 'a', 'a'])
  assert.equal(new Set(queued.map(e => e.etag)).size, 1, 'the same object version each time')
  assert.equal(new Set(queued.map(e => e.event_id)).size, 3, 'every forget announces under new ids')
  assert.equal(a.deps.clients.misses, 1)
  assert.equal(a.deps.clients.hits, 2)

  await f.store.save({ name, endpoint: fake.endpoint.replace('127.0.0.1', 'localhost'), status: 'active' }, 'put')
  await sleep(100)
  assert.equal(a.deps.clients.size, 0)
  await resync.resync(name, { forget: false })
  await a.scheduler.tick()
  await a.scheduler.idle()
  assert.equal(a.deps.clients.misses, 2)
})

/** A bucket of 3,000 objects on an S3 answering after `latencyMs`, its scan claimed by one replica (with its loop running, `loop`). */
async function claimSlowScan (t: { after: (fn: () => void) => void }, f: Fixture, prefix: string, { latencyMs, loop = false, extra = {} }: { latencyMs: number, loop?: boolean, extra?: Partial<SchedulerDeps> }) {
  const name = `${prefix}-${randomUUID().slice(0, 6)}`
  await f.addBucket(name)
  fake.seed(name, Array.from({ length: 3000 }, (_, i) => ({ key: `k${String(i).padStart(5, '0')}`, lastModified: Date.now() - 2 * 86_400_000 })))
  const a = await f.make('solo', { pageSize: 100, ...extra })
  if (loop) {
    a.scheduler.start()
    await sleep(50)
  }
  fake.latencyMs = latencyMs
  t.after(() => { fake.latencyMs = 0 })
  await redis.zadd(f.keys.schedule, f.clock.t, name)
  assert.deepEqual(await a.scheduler.tick(), [name])
  return { name, a }
}

/** A 3,000-object bucket scanned slowly by one replica, 150 ms into its scan. */
async function startLongScan (t: { after: (fn: () => void) => void }, f: Fixture, prefix: string) {
  const { name, a } = await claimSlowScan(t, f, prefix, { latencyMs: 20, loop: true })
  // Under way: some pages committed, most of the bucket still to list (30 pages of 20 ms each).
  await waitFor(async () => await redis.llen(f.keys.queue) > 0, { what: 'the first committed page', timeoutMs: 10_000 })
  return { name, a }
}

test('a slow scan shows its progress in the bucket status as it goes (objects listed, ranges, start), and none once it ends', async (t) => {
  await redis.flushall()
  const f = await fixture(t)
  const { name, a } = await claimSlowScan(t, f, 'progress', { latencyMs: 30, extra: { progressWriteMs: 50 } })
  const seen: Array<NonNullable<Awaited<ReturnType<typeof readScanStatus>>['scan_progress']>> = []
  while (a.scans.length === 0) {
    const live = (await readScanStatus(redis, f.keys, name)).scan_progress
    if (live) seen.push(live)
    await sleep(40)
  }
  const midway = seen.filter(p => p.objects_listed > 0 && p.objects_listed < 3000)
  assert.ok(midway.length >= 3, `progress seen midway ${midway.length} times: ${JSON.stringify(seen.map(p => p.objects_listed))}`)
  const listed = seen.map(p => p.objects_listed)
  assert.deepEqual(listed, [...listed].sort((x, y) => x - y), 'objects listed only grows')
  assert.ok(seen.every(p => p.started_at === seen[0]!.started_at && p.ranges_done <= p.ranges_total), JSON.stringify(seen))
  assert.ok(midway.every(p => p.ranges_total >= 1 && p.pages >= 1), 'ranges planned and pages listed once objects are')
  assert.ok(Date.parse(seen[0]!.started_at) <= Date.parse(seen.at(-1)!.updated_at))
  const after = await readScanStatus(redis, f.keys, name)
  assert.equal(after.scan_progress, null, 'the finished scan left no progress behind')
  assert.equal(after.objects_listed, 3000)
  assert.equal(after.last_scan_at, seen[0]!.started_at)
})

test('close() aborts a running scan, releases its lease and leaves the bucket due', async (t) => {
  await redis.flushall()
  const f = await fixture(t)
  const { name, a } = await startLongScan(t, f, 'close')
  await a.scheduler.close()
  assert.equal(a.scans[0]?.[1].outcome, 'aborted')
  assert.equal(await redis.exists(f.keys.lease(name)), 0)
  assert.equal(Number(await redis.zscore(f.keys.schedule, name)), f.clock.t)
  const queued = await redis.llen(f.keys.queue)
  assert.ok(queued > 0 && queued < 3000, `part of the bucket was done (${queued})`)
})

test('a bucket removed during its scan: the scan stops and leaves nothing behind', async (t) => {
  await redis.flushall()
  const f = await fixture(t)
  const { name, a } = await startLongScan(t, f, 'gone')
  assert.equal(await f.store.remove(name), true)
  await a.scheduler.idle()
  assert.equal(a.scans[0]?.[1].outcome, 'aborted')
  const left = await redis.keys(`*${name}*`)
  assert.deepEqual(left, [])
  assert.equal(await redis.zscore(f.keys.schedule, name), null)
})

test('a resync asked for during a scan is kept: the bucket is scanned again right after', async (t) => {
  await redis.flushall()
  const f = await fixture(t)
  const name = `again-${randomUUID().slice(0, 6)}`
  await f.addBucket(name)
  fake.seed(name, Array.from({ length: 1000 }, (_, i) => ({ key: `k${String(i).padStart(5, '0')}`, lastModified: Date.now() - 2 * 86_400_000 })))
  const a = await f.make('solo', { pageSize: 100 })
  a.scheduler.start()
  await sleep(50)
  fake.latencyMs = 10
  t.after(() => { fake.latencyMs = 0 })
  await redis.zadd(f.keys.schedule, f.clock.t, name)
  assert.deepEqual(await a.scheduler.tick(), [name])
  await sleep(30)
  await resyncFor(f, a.scheduler).resync(name, { forget: false })
  // The loop (woken by the finished scan) takes it again without the clock moving.
  await waitFor(() => a.scans.length === 2, { what: 'the second scan' })
  assert.ok(a.scans.every(([, report]) => report.outcome === 'ok'))
})

test('a scan longer than the lease TTL keeps its lease; the other replica does not take the bucket', async (t) => {
  await redis.flushall()
  const f = await fixture(t)
  const name = `long-${randomUUID().slice(0, 6)}`
  await f.addBucket(name)
  fake.seed(name, Array.from({ length: 2000 }, (_, i) => ({ key: `k${String(i).padStart(5, '0')}`, lastModified: Date.now() - 2 * 86_400_000 })))
  // The lease is renewed every 200 ms (a third of its TTL), so a renewal may slip by up to
  // 400 ms on a loaded machine before the lease runs out.
  const a = await f.make('owner', { pageSize: 100, leaseTtlMs: 600 })
  const b = await f.make('other', { pageSize: 100, leaseTtlMs: 600 })
  fake.latencyMs = 70 // 20 pages: about 1.4 s, more than two lease lifetimes
  t.after(() => { fake.latencyMs = 0 })
  await redis.zadd(f.keys.schedule, f.clock.t, name)
  assert.deepEqual(await a.scheduler.tick(), [name])
  for (let i = 0; i < 12; i++) {
    await sleep(100)
    f.clock.t += 100
    assert.deepEqual(await b.scheduler.tick(), [], `taken over after ${i * 100} ms`)
  }
  await a.scheduler.idle()
  assert.equal(a.scans[0]?.[1].outcome, 'ok')
  assert.equal(b.scans.length, 0)
  assert.equal(await redis.llen(f.keys.queue), 2000)
})

test('a scan refused for its credentials logs the S3 error without the access key the server echoes back', async (t) => {
  await redis.flushall()
  const f = await fixture(t)
  const s3 = await startS3()
  t.after(() => s3.stop())
  const name = `creds-${randomUUID().slice(0, 6)}`
  await s3.createBucket(name)
  const lines: string[] = []
  const log = createLogger({ service: 'test', level: 'info', destination: { write: (line: string) => { lines.push(line) } } })
  const secrets = createMemorySecretStore()
  const names = bucketSecretNames(name)
  await secrets.set(names.ACCESS_KEY, 'AKIAEXAMPLEKEY7Q3Z')
  await secrets.set(names.SECRET_KEY, 'not-the-secret')
  await redis.zadd(f.keys.schedule, f.clock.t + 3_600_000, name) // the test sets its due time
  await f.store.save({ name, endpoint: s3.endpoint, status: 'active' }, 'put')
  const a = await f.make('creds', { log, secrets })
  a.scheduler.start()
  await sleep(50)
  await redis.zadd(f.keys.schedule, f.clock.t, name)
  await a.scheduler.tick()
  await a.scheduler.idle()
  assert.match((await readScanStatus(redis, f.keys, name)).last_error ?? '', /InvalidAccessKeyId \(HTTP 403\)/)
  const failed = lines.filter(l => l.includes('scan failed'))
  assert.equal(failed.length, 1)
  assert.match(failed[0]!, /InvalidAccessKeyId/, 'the error is still described')
  assert.doesNotMatch(lines.join(''), /AKIAEXAMPLEKEY7Q3Z/)
})

test('a scan past parallel.scan_timeout fails with SCAN_TIMEOUT, releases its lease and is retried with backoff', async (t) => {
  await redis.flushall()
  const f = await fixture(t)
  const name = `slow-${randomUUID().slice(0, 6)}`
  await f.addBucket(name)
  fake.put(name, 'a', '1')
  fake.hang.set(name, 'silent') // no request deadline would end it first: only the scan's own
  t.after(() => { fake.hang.delete(name) })
  const a = await f.make('solo', { deadlines: { scanMs: 300, requestMs: 60_000 } })
  await redis.zadd(f.keys.schedule, f.clock.t, name)
  const started = Date.now()
  await a.scheduler.tick()
  await a.scheduler.idle()
  assert.ok(Date.now() - started < 3000, `ended after ${Date.now() - started} ms`)
  const [[, report]] = a.scans as [[string, ScanReport]]
  assert.equal(report.outcome, 'error')
  assert.equal(report.errorCode, 'SCAN_TIMEOUT')
  assert.equal(await redis.exists(f.keys.lease(name)), 0, 'lease released')
  assert.equal(Number(await redis.zscore(f.keys.schedule, name)), f.clock.t + 5000)
  assert.equal(a.scheduler.timingOut, 1)
  assert.equal(a.scheduler.stuckScans(), 0)
  assert.equal((await a.deps.metrics!.scanErrors.get()).values.find(v => v.labels.kind === 'SCAN_TIMEOUT')?.value, 1)
  fake.hang.delete(name)
  f.clock.t += 5000
  await a.scheduler.tick()
  await a.scheduler.idle()
  assert.equal(a.scans[1]?.[1].outcome, 'ok')
  assert.equal(a.scheduler.timingOut, 0)
})

test('a scan whose wait ignores the abort (a secret store that never answers) counts as stuck once past its deadline', async (t) => {
  await redis.flushall()
  const f = await fixture(t)
  const name = `stuck-${randomUUID().slice(0, 6)}`
  await f.addBucket(name)
  const pending: Array<(v: string | undefined) => void> = []
  const secrets = { kind: 'memory' as const, get: () => new Promise<string | undefined>(resolve => pending.push(resolve)), set: async () => {}, delete: async () => {} }
  const a = await f.make('solo', { secrets, deadlines: { scanMs: 100, requestMs: 100 } })
  await redis.zadd(f.keys.schedule, f.clock.t, name)
  await a.scheduler.tick()
  assert.equal(a.scheduler.stuckScans(), 0)
  await waitFor(() => a.scheduler.stuckScans() === 1, { timeoutMs: 2000, what: 'the scan counted as stuck' })
  for (const resolve of pending) resolve(undefined)
  await a.scheduler.idle()
  assert.equal(a.scheduler.stuckScans(), 0)
  assert.equal(a.scans[0]?.[1].errorCode, 'SCAN_TIMEOUT')
})

test('fast lane: an ordered new key is announced within two fast intervals, the next full scan does not announce it again, and it goes with the field', async (t) => {
  await redis.flushall()
  const f = await fixture(t)
  const name = `fast-${randomUUID().slice(0, 8)}`
  const { scheduler, deps } = await f.make('replica-fast')
  const resync = resyncFor(f, scheduler)
  await f.addBucket(name, { fresh: true })
  await f.store.save({ name, endpoint: fake.endpoint, status: 'active', polling_interval: 3600, fast_interval: 2 }, 'put')
  fake.put(name, 'logs/2026-12-01T00-00.json', 'a')
  await waitFor(() => deps.registry.get(name)?.fast_interval === 2, { what: 'the registry sees the bucket' })
  // The first tick makes the full scan (new bucket, due at once); the fast lane waits for it.
  await scheduler.tick()
  await scheduler.idle()
  const queued = async () => (await redis.lrange(f.keys.queue, 0, -1)).map(r => JSON.parse(r).key as string)
  assert.deepEqual(await queued(), ['logs/2026-12-01T00-00.json'])
  fake.put(name, 'logs/2026-12-01T00-01.json', 'b')
  const lists = fake.counts.list
  // Within two fast intervals of the upload (ticks every half second of the clock).
  let announcedAfterMs: number | undefined
  for (let ms = 500; ms <= 4000 && announcedAfterMs === undefined; ms += 500) {
    f.clock.t += 500
    await scheduler.tick()
    await scheduler.idle()
    if ((await queued()).length === 2) announcedAfterMs = ms
  }
  assert.ok(announcedAfterMs !== undefined && announcedAfterMs <= 4000, `announced after ${announcedAfterMs} ms`)
  assert.deepEqual((await queued()).at(-1), 'logs/2026-12-01T00-01.json')
  assert.equal(fake.counts.list - lists, 1, 'one LIST after the highest key, not a listing of the bucket')
  const fastScans = (await deps.metrics!.fastScans.get()).values.filter(v => v.labels.bucket === name && v.labels.outcome === 'ok')
  assert.ok((fastScans[0]?.value ?? 0) >= 1, 'a fast-lane scan found it, not a full scan')
  // The full scan (resynced now) finds it recorded: nothing announced twice.
  await resync.resync(name, { forget: false })
  await scheduler.tick()
  await scheduler.idle()
  assert.equal((await queued()).length, 2)
  assert.equal((await readScanStatus(redis, f.keys, name)).events_created, 2, 'the fast lane\'s events are counted in the status')
  // Switched off: the bucket leaves the fast-lane schedule.
  await f.store.save({ name, endpoint: fake.endpoint, status: 'active', polling_interval: 3600 }, 'put')
  await waitFor(async () => await redis.zscore(f.keys.fastSchedule, name) === null, { what: 'fast lane off' })
})
