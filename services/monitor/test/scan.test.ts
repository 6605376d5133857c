import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { createKeys, type Keys } from '@internal/redis'
import { createLogger } from '@internal/telemetry'
import { decodeEvent, eventId, type ChangeEvent } from '@internal/events'
import { createNetworkPolicy, type Bucket, type NetworkPolicy, type Resolve } from '@internal/buckets'
import type { Redis } from 'ioredis'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { startFakeS3, type FakeS3 } from '../../../test/support/fake-s3.ts'
import { startS3, type S3TestServer } from '../../../test/support/s3.ts'
import { scanBucket } from '../src/scan.ts'
import { Limiter } from '../src/limiter.ts'
import { createKeyFilter } from '../src/patterns.ts'
import { createS3Client } from '../src/s3-clients.ts'
import { HeadFailures } from '../src/head-failures.ts'
import { newProgress, type ScanDeps, type ScanProgress, type ScanTarget } from '../src/scan-context.ts'
import { trackedKeys } from './state-support.ts'
import { testScanDeps } from './scan-harness.ts'

const DAY = 86_400_000
let server: RedisServer
let redis: Redis
let fake: FakeS3
let s3: S3TestServer

before(async () => {
  [server, fake, s3] = await Promise.all([startRedis(), startFakeS3(), startS3()])
  redis = server.client()
})
after(async () => { await Promise.all([server.stop(), fake.close(), s3.stop()]) })

function setup (now = () => Date.now()) {
  const prefix = `t${randomUUID().slice(0, 8)}`
  const keys = createKeys({ queueName: `${prefix}:queue`, deadLetterName: `${prefix}:dead`, statePrefix: `${prefix}:state:` })
  const deps = testScanDeps(redis, keys, now)
  return { keys, deps }
}

type BucketOpts = Partial<Bucket> & { name: string, switchOff?: boolean }

async function scan (deps: ScanDeps, opts: BucketOpts, endpoint = fake.endpoint, pageSize = 1000, maxAttempts = 1): Promise<ScanProgress> {
  return await scanWith(deps, opts, { endpoint, pageSize, maxAttempts })
}

interface ScanOpts { endpoint?: string, pageSize?: number, maxAttempts?: number, requestTimeoutMs?: number, target?: Partial<ScanTarget>, policy?: NetworkPolicy, resolve?: Resolve }

async function scanWith (deps: ScanDeps, opts: BucketOpts, { endpoint = fake.endpoint, pageSize = 1000, maxAttempts = 1, requestTimeoutMs, target, policy, resolve }: ScanOpts): Promise<ScanProgress> {
  const { switchOff: _s, ...fields } = opts
  const bucket: Bucket = { endpoint, status: 'active', notifications_enabled: true, ...fields }
  const client = createS3Client(endpoint, { accessKey: 'S3RVER', secretKey: 'S3RVER' }, 'us-east-1', { maxAttempts, requestTimeoutMs, policy, resolve })
  const progress = newProgress(deps.now())
  await redis.set(deps.keys.bucketConfig(bucket.name), JSON.stringify(bucket), 'NX') // commits check that the bucket exists
  // The switch is read from Redis, as the bucket store writes it; `notifications_enabled` is only the replica's memory.
  const switchOff = opts.switchOff ?? !bucket.notifications_enabled
  await (switchOff ? redis.set(deps.keys.notificationsDisabled(bucket.name), 'true') : redis.del(deps.keys.notificationsDisabled(bucket.name)))
  try {
    await scanBucket({ ...deps, pageSize }, {
      bucket,
      client,
      region: new Limiter(4),
      regionName: new URL(endpoint).host,
      filter: createKeyFilter(bucket.include, bucket.exclude),
      firstScan: bucket.first_scan ?? 'emit',
      signal: new AbortController().signal,
      ...target
    }, progress)
    // The scheduler's finishScan marks a completed scan; tests mark it directly.
    await redis.set(deps.keys.lastScan(bucket.name), String(Math.floor(progress.startedAt / 1000)))
  } finally {
    client.destroy()
  }
  return progress
}

async function drain (keys: Keys): Promise<ChangeEvent[]> {
  const raw = await redis.lrange(keys.queue, 0, -1)
  await redis.del(keys.queue)
  return raw.map(r => {
    const decoded = decodeEvent(r)
    assert.ok(decoded.ok)
    assert.deepEqual(Object.keys(JSON.parse(r)).filter(k => k !== 'head_error').sort(), ['bucket', 'content_type', 'detection_time', 'etag', 'event_id', 'event_type', 'is_recent', 'key', 'last_modified', 'metadata', 'region', 'size'])
    return JSON.parse(r) as ChangeEvent
  })
}

test('each event type with the exact payload (s3rver)', async () => {
  const { keys, deps } = setup()
  const name = `ev-${randomUUID().slice(0, 8)}`
  await s3.createBucket(name)
  await s3.put(name, 'docs/a.txt', 'hello', { contentType: 'text/plain', metadata: { Owner: 'ann' } })
  const started = Date.now()
  await scan(deps, { name }, s3.endpoint)
  const [created] = await drain(keys)
  const region = new URL(s3.endpoint).host
  assert.ok(created)
  const lm = created.last_modified
  assert.deepEqual({ ...created, detection_time: 0 }, {
    bucket: name,
    key: 'docs/a.txt',
    region,
    etag: '5d41402abc4b2a76b9719d911017c592',
    size: 5,
    last_modified: lm,
    event_type: 'created',
    content_type: 'text/plain',
    metadata: { owner: 'ann' },
    detection_time: 0,
    is_recent: true,
    event_id: eventId({ bucket: name, key: 'docs/a.txt', etag: '5d41402abc4b2a76b9719d911017c592', last_modified: lm, event_type: 'created' })
  })
  assert.ok(created.detection_time >= started / 1000 && created.detection_time <= Date.now() / 1000)
  assert.ok(Math.abs(lm - started / 1000) < 5)

  await s3.put(name, 'docs/a.txt', 'hello world', { contentType: 'text/markdown' })
  await scan(deps, { name }, s3.endpoint)
  const [updated] = await drain(keys)
  assert.equal(updated?.event_type, 'updated')
  assert.equal(updated?.etag, '5eb63bbbe01eeed093cb22bb8f5acdc3')
  assert.equal(updated?.size, 11)
  assert.equal(updated?.content_type, 'text/markdown')
  assert.deepEqual(updated?.metadata, {})

  await s3.remove(name, 'docs/a.txt')
  await scan(deps, { name }, s3.endpoint)
  const [deleted] = await drain(keys)
  assert.deepEqual({ ...deleted, detection_time: 0 }, {
    bucket: name,
    key: 'docs/a.txt',
    region,
    etag: '5eb63bbbe01eeed093cb22bb8f5acdc3',
    size: 11,
    last_modified: updated!.last_modified,
    event_type: 'deleted',
    content_type: 'application/octet-stream',
    metadata: {},
    detection_time: 0,
    is_recent: true,
    event_id: eventId({ bucket: name, key: 'docs/a.txt', etag: updated!.etag, last_modified: updated!.last_modified, event_type: 'deleted' })
  })
  assert.equal((await trackedKeys(redis, keys, name)).length, 0)
})

test('an object older than 24 h is detected without a HeadObject', async () => {
  const { keys, deps } = setup()
  const name = `old-${randomUUID().slice(0, 8)}`
  fake.createBucket(name)
  const lastModified = Date.now() - 3 * DAY
  fake.seed(name, [{ key: 'archive/x.bin', etag: 'd41d8cd98f00b204e9800998ecf8427e', size: 0, lastModified, contentType: 'image/png' }])
  const heads = fake.counts.head
  await scan(deps, { name })
  const [detected] = await drain(keys)
  assert.equal(fake.counts.head, heads)
  assert.deepEqual({ ...detected, detection_time: 0 }, {
    bucket: name,
    key: 'archive/x.bin',
    region: new URL(fake.endpoint).host,
    etag: 'd41d8cd98f00b204e9800998ecf8427e',
    size: 0,
    last_modified: Math.floor(lastModified / 1000),
    event_type: 'detected',
    content_type: 'application/octet-stream',
    metadata: {},
    detection_time: 0,
    is_recent: false,
    event_id: eventId({ bucket: name, key: 'archive/x.bin', etag: 'd41d8cd98f00b204e9800998ecf8427e', last_modified: Math.floor(lastModified / 1000), event_type: 'detected' })
  })
})

test('a bucket of 2,600 objects is seen whole, and a rescan writes nothing', async () => {
  const { keys, deps } = setup()
  const name = `big-${randomUUID().slice(0, 8)}`
  fake.createBucket(name)
  fake.seed(name, Array.from({ length: 2600 }, (_, i) => ({ key: `d${i % 7}/obj-${String(i).padStart(6, '0')}.dat`, lastModified: Date.now() - 2 * DAY })))
  const first = await scan(deps, { name }, fake.endpoint, 250)
  assert.equal(first.listed, 2600)
  assert.equal(first.pages, 11)
  assert.equal(first.events.detected, 2600)
  const events = await drain(keys)
  assert.equal(new Set(events.map(e => e.key)).size, 2600)
  assert.equal((await trackedKeys(redis, keys, name)).length, 2600)

  const counters = async () => {
    const info = await redis.info()
    return ['total_commands_processed', 'rdb_changes_since_last_save'].map(f => Number(info.match(new RegExp(`${f}:(\\d+)`))![1])) as [number, number]
  }
  const [commandsBefore, writesBefore] = await counters()
  const rescan = await scan(deps, { name }, fake.endpoint, 250)
  const [commandsAfter, writesAfter] = await counters()
  assert.equal(rescan.changed, 0)
  assert.equal(rescan.deletionPass, false)
  assert.equal(await redis.llen(keys.queue), 0)
  // No write but the test's own SET of last_scan; MULTI/EXISTS/EXISTS/GET/EXEC, then per page
  // one EVALSHA (+ its two index lookups and one HGETALL per chunk of 128 the page's 250 keys
  // overlap, at most 4), the state TTL check (HGET), and the test's SET NX, DEL and SET.
  assert.equal(writesAfter - writesBefore, 1)
  assert.ok(commandsAfter - commandsBefore <= 5 + (1 + 2 + 4) * 11 + 1 + 3, `commands: ${commandsAfter - commandsBefore}`)

  fake.remove(name, 'd3/obj-000003.dat')
  fake.put(name, 'd0/obj-000000.dat', 'changed')
  const third = await scan(deps, { name }, fake.endpoint, 250)
  assert.equal(third.deletionPass, true)
  const changes = await drain(keys)
  assert.deepEqual(changes.map(e => `${e.event_type} ${e.key}`).sort(), ['deleted d3/obj-000003.dat', 'updated d0/obj-000000.dat'])
})

test('a listing that fails part way deletes nothing, and the rescan completes it', async () => {
  const { keys, deps } = setup()
  const name = `fail-${randomUUID().slice(0, 8)}`
  fake.createBucket(name)
  fake.seed(name, Array.from({ length: 1000 }, (_, i) => ({ key: `k/${String(i).padStart(5, '0')}`, lastModified: Date.now() - 2 * DAY })))
  await scan(deps, { name }, fake.endpoint, 100)
  await drain(keys)
  for (let i = 0; i < 1000; i += 2) fake.remove(name, `k/${String(i).padStart(5, '0')}`)
  fake.put(name, 'k/99999', 'new')
  fake.intercept = req => req.bucket === name && req.op === 'list' && req.page === 3 ? { status: 500, code: 'InternalError' } : undefined
  await assert.rejects(scan(deps, { name }, fake.endpoint, 100))
  assert.equal((await trackedKeys(redis, keys, name)).length, 1000)
  assert.deepEqual(await drain(keys), [])

  fake.intercept = req => req.bucket === name && req.op === 'list' && req.page === 2 ? { status: 403, code: 'AccessDenied' } : undefined
  const afterFirstPage = scan(deps, { name }, fake.endpoint, 100)
  await assert.rejects(afterFirstPage)
  assert.equal((await trackedKeys(redis, keys, name)).length, 1000)

  fake.intercept = undefined
  const ok = await scan(deps, { name }, fake.endpoint, 100)
  assert.equal(ok.events.deleted, 500)
  assert.equal(ok.events.created, 1)
  assert.equal((await drain(keys)).length, 501)
})

test('disabled notifications push nothing but keep state', async () => {
  const { keys, deps } = setup()
  const name = `off-${randomUUID().slice(0, 8)}`
  fake.createBucket(name)
  fake.put(name, 'a', '1')
  fake.put(name, 'b', '2')
  const heads = fake.counts.head
  await scan(deps, { name, notifications_enabled: false })
  assert.equal(await redis.llen(keys.queue), 0)
  assert.equal((await trackedKeys(redis, keys, name)).length, 2)
  assert.equal(fake.counts.head, heads)
  fake.remove(name, 'a')
  fake.put(name, 'b', 'changed')
  await scan(deps, { name, notifications_enabled: false })
  assert.equal(await redis.llen(keys.queue), 0)
  assert.deepEqual(await trackedKeys(redis, keys, name), ['b'])
  // Switched back on: only what changes from now on is announced.
  fake.put(name, 'c', '3')
  await scan(deps, { name })
  assert.deepEqual((await drain(keys)).map(e => e.key), ['c'])
})

test('the switch as Redis holds it wins over the replica\'s memory, in both directions', async () => {
  const { keys, deps } = setup()
  const name = `stale-${randomUUID().slice(0, 8)}`
  fake.createBucket(name)
  fake.put(name, 'a', '1')
  await scan(deps, { name, notifications_enabled: true, switchOff: true })
  assert.equal(await redis.llen(keys.queue), 0, 'disabled in Redis: nothing pushed although memory says enabled')
  fake.put(name, 'b', '2')
  await scan(deps, { name, notifications_enabled: false, switchOff: false })
  assert.deepEqual((await drain(keys)).map(e => e.key), ['b'], 'enabled in Redis: announced although memory says disabled')
})

test('notifications enabled after the scan read the switch: the page is not recorded, the scan is abandoned', async () => {
  const { keys, deps } = setup()
  const name = `flip-${randomUUID().slice(0, 8)}`
  await redis.set(keys.bucketConfig(name), '{}')
  await redis.set(keys.notificationsDisabled(name), 'true')
  const quad = ['a', '', 'fp-a', '']
  const commitKeys = [keys.stateIndex(name), keys.stateMeta(name), keys.queue, keys.bucketConfig(name), keys.notificationsDisabled(name)]
  const chunks = [keys.stateChunkPrefix(name), '128']
  assert.deepEqual(await deps.scripts.commit(commitKeys, 'off', ...chunks, ...quad), [1, 0, 0])
  await redis.del(keys.stateIndex(name), keys.stateMeta(name), keys.stateChunkPrefix(name), keys.notificationsDisabled(name))
  assert.deepEqual(await deps.scripts.commit(commitKeys, 'off', ...chunks, ...quad), [-2])
  assert.equal((await trackedKeys(redis, keys, name)).length, 0, 'nothing applied: the rescan announces the change')
})

test('include and exclude patterns are respected', async () => {
  const { keys, deps } = setup()
  const name = `pat-${randomUUID().slice(0, 8)}`
  fake.createBucket(name)
  for (const key of ['in/a.mp3', 'in/b.part', 'in/.hidden.mp3', 'in/deep/c.mp3', 'top.mp3', 'notes.txt']) fake.put(name, key, key)
  await scan(deps, { name, include: ['*.mp3'], exclude: ['*.part', '.*'] })
  assert.deepEqual((await drain(keys)).map(e => e.key).sort(), ['in/a.mp3', 'in/deep/c.mp3', 'top.mp3'])
  // A pattern that now excludes a tracked key drops its state silently, with no `deleted` event.
  const narrowed = await scan(deps, { name, include: ['in/**'], exclude: ['*.part', '.*', 'in/deep/**'] })
  assert.equal(narrowed.deletionPass, true)
  assert.deepEqual(await drain(keys), [])
  assert.deepEqual(await trackedKeys(redis, keys, name), ['in/a.mp3'])
})

test('first_scan baseline records state silently, then announces changes', async () => {
  const { keys, deps } = setup()
  const name = `base-${randomUUID().slice(0, 8)}`
  fake.createBucket(name)
  fake.put(name, 'a', '1')
  await scan(deps, { name, first_scan: 'baseline' })
  assert.equal(await redis.llen(keys.queue), 0)
  fake.put(name, 'b', '2')
  await scan(deps, { name, first_scan: 'baseline' })
  assert.deepEqual((await drain(keys)).map(e => `${e.event_type} ${e.key}`), ['created b'])
})

test('each announced creation and update reports its detection lag; detected objects and deletions do not', async () => {
  const clock = { now: Math.floor(Date.now() / 1000) * 1000 } // S3 times are whole seconds
  const { deps } = setup(() => clock.now)
  const lags: Array<[string, number]> = []
  deps.onDetectionLag = (bucket, seconds) => lags.push([bucket, seconds])
  const name = `lag-${randomUUID().slice(0, 8)}`
  fake.createBucket(name)
  fake.put(name, 'old', 'x', { lastModified: clock.now - 3 * 86_400_000 })
  fake.put(name, 'new', 'x', { lastModified: clock.now - 30_000 })
  await scan(deps, { name })
  assert.deepEqual(lags.map(([b, s]) => [b, Math.round(s)]), [[name, 30]])
  fake.put(name, 'new', 'changed', { lastModified: clock.now })
  fake.remove(name, 'old')
  clock.now += 12_000
  await scan(deps, { name })
  assert.deepEqual(lags.slice(1).map(([, s]) => Math.round(s)), [12])
})

test('a second writer never enqueues the same change twice', async () => {
  const { keys, deps } = setup()
  const name = `cas-${randomUUID().slice(0, 8)}`
  fake.createBucket(name)
  for (let i = 0; i < 50; i++) fake.put(name, `k${i}`, String(i))
  // Two scans of the same bucket at once, as a replica whose lease ran out and its successor.
  const [a, b] = await Promise.all([scan(deps, { name }), scan(deps, { name })])
  const events = await drain(keys)
  assert.equal(events.length, 50)
  assert.equal(new Set(events.map(e => e.event_id)).size, 50)
  assert.equal(a.skipped + b.skipped, 50)
})

test('a listing that drops or misorders keys (s3rver) never produces deletes', async () => {
  const { keys, deps } = setup()
  const name = `order-${randomUUID().slice(0, 8)}`
  await s3.createBucket(name)
  // s3rver walks directories: `a/x` comes before `a`, and page boundaries there drop keys.
  for (const key of ['a', 'a-z.txt', 'a.txt', 'a/x', 'b']) await s3.put(name, key, key)
  await scan(deps, { name }, s3.endpoint)
  assert.equal((await drain(keys)).length, 5)
  const paged = await scan(deps, { name }, s3.endpoint, 1)
  assert.ok(paged.listed < 5, `s3rver dropped keys (${paged.listed} listed)`)
  // Either the order check catches it, or each deletion candidate is found alive by HeadObject.
  assert.ok(!paged.ordered || paged.missedByListing === 5 - paged.listed, JSON.stringify(paged))
  assert.equal(paged.events.deleted, 0)
  assert.deepEqual(await drain(keys), [])
  assert.equal((await trackedKeys(redis, keys, name)).length, 5)
})

test('503 SlowDown (Linode throttling) is retried by the SDK within the scan', async (t) => {
  const { keys, deps } = setup()
  const name = `slow-${randomUUID().slice(0, 8)}`
  fake.createBucket(name)
  fake.seed(name, Array.from({ length: 300 }, (_, i) => ({ key: `k${String(i).padStart(4, '0')}` })))
  let refusals = 0
  fake.intercept = req => {
    if (req.bucket !== name || (req.op !== 'head' && req.page !== 2) || refusals === 3) return undefined
    refusals++
    return { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' }
  }
  t.after(() => { fake.intercept = undefined })
  const progress = await scan(deps, { name }, fake.endpoint, 100, 4)
  assert.equal(refusals, 3)
  assert.equal(progress.events.created, 300)
  assert.equal(new Set((await drain(keys)).map(e => e.key)).size, 300)
})

test('the compare script reads packed and paired arguments alike', async () => {
  const { deps } = setup()
  const bucket = `cmp-${randomUUID().slice(0, 8)}`
  const [index, prefix] = [deps.keys.stateIndex(bucket), deps.keys.stateChunkPrefix(bucket)]
  await redis.zadd(index, 0, '')
  await redis.hset(prefix, 'a', 'fa', 'b', 'fb', 'c\nd', 'fc', 'gone', 'fg')
  // known, handled, resume, changed count, (index, stored) per change, then tracked keys not listed.
  const expected = [3, 4, '', 2, 1, 'fb', 3, '', 'gone', 'fg']
  const range = [prefix, '-', '+', '', '64']
  assert.deepEqual(await deps.scripts.compareRange([index], ...range, 'a', 'fa', 'b', 'changed', 'c\nd', 'fc', 'new', 'fn'), expected)
  assert.deepEqual(await deps.scripts.compareRange([index], ...range, 'a\0fa\0b\0changed\0c\nd\0fc\0new\0fn\0'), expected)
})

test('a long scan logs its progress', async (t) => {
  const { deps } = setup()
  const lines: Array<Record<string, any>> = []
  const destination = { write: (line: string) => { lines.push(JSON.parse(line)) } }
  const name = `prog-${randomUUID().slice(0, 8)}`
  fake.createBucket(name)
  fake.seed(name, Array.from({ length: 500 }, (_, i) => ({ key: `k${String(i).padStart(4, '0')}`, lastModified: Date.now() - 2 * DAY })))
  fake.latencyMs = 20
  t.after(() => { fake.latencyMs = 0 })
  await scan({ ...deps, progressEveryMs: 50, log: createLogger({ service: 'test', level: 'info', destination }) }, { name }, fake.endpoint, 50)
  const progress = lines.filter(l => l.message === 'scan progress')
  assert.ok(progress.length >= 2, `${progress.length} progress lines`)
  assert.equal(progress[0]?.bucket, name)
  assert.ok(progress.at(-1)!.listed > progress[0]!.listed)
})

test('keys with spaces, XML specials and characters beyond the BMP round-trip, in byte order', async () => {
  const { keys, deps } = setup()
  const name = `utf-${randomUUID().slice(0, 8)}`
  fake.createBucket(name)
  const odd = ['a b/c&d<e>.txt', 'quote"s\'.bin', 'ünïcödé/файл.txt', 'emoji/😀.png', 'emoji/\uffee.png', 'tab\there']
  for (const key of odd) fake.put(name, key, key)
  const first = await scan(deps, { name }, fake.endpoint, 2)
  assert.equal(first.ordered, true)
  assert.deepEqual((await drain(keys)).map(e => e.key).sort(), [...odd].sort())
  fake.remove(name, 'emoji/😀.png')
  const second = await scan(deps, { name }, fake.endpoint, 2)
  assert.equal(second.ordered, true)
  assert.deepEqual((await drain(keys)).map(e => `${e.event_type} ${e.key}`), ['deleted emoji/😀.png'])
})

test('a key holding CR (which an XML parser turns into LF) is listed URL-encoded and announced exactly once, with the exact key', async () => {
  const { keys, deps } = setup()
  const name = `cr-${randomUUID().slice(0, 8)}`
  fake.createBucket(name)
  const odd = ['line\rbreak.txt', 'crlf\r\n.txt', 'plus+and space%41.txt', 'a/b\rc/d.txt']
  for (const key of odd) fake.put(name, key, key, { contentType: 'text/plain' })
  fake.put(name, 'plain.txt', 'p')
  const first = await scan(deps, { name }, fake.endpoint, 2)
  assert.equal(first.ordered, true)
  const events = await drain(keys)
  assert.deepEqual(events.map(e => e.key).sort(), [...odd, 'plain.txt'].sort())
  assert.ok(events.every(e => e.content_type === 'text/plain' || e.key === 'plain.txt'), 'HeadObject found every key')
  const again = await scan(deps, { name }, fake.endpoint, 2)
  assert.equal(again.changed, 0)
  assert.deepEqual(await drain(keys), [])
})

test('a server that ignores encoding-type (s3rver) still gets its keys back verbatim, % and + included', async () => {
  const { keys, deps } = setup()
  const name = `enc-${randomUUID().slice(0, 8)}`
  await s3.createBucket(name)
  const odd = ['dir/plus+sign.txt', 'dir/percent%41.txt', 'dir/space here.txt']
  for (const key of odd) await s3.put(name, key, key)
  await scan(deps, { name }, s3.endpoint)
  assert.deepEqual((await drain(keys)).map(e => e.key).sort(), [...odd].sort())
})

test('a server that answers every page with the same continuation token ends the listing with an error instead of looping', async (t) => {
  const { createServer } = await import('node:http')
  const { listPages } = await import('../src/lister.ts')
  let requests = 0
  const page = '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>loop</Name><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>' +
    '<IsTruncated>true</IsTruncated><NextContinuationToken>same-token</NextContinuationToken>' +
    '<Contents><Key>a</Key><LastModified>2020-01-01T00:00:00.000Z</LastModified><ETag>"0cc175b9c0f1b6a831c399e269772661"</ETag><Size>1</Size></Contents></ListBucketResult>'
  const http = createServer((_req, res) => { requests++; res.writeHead(200, { 'content-type': 'application/xml' }); res.end(page) })
  await new Promise<void>(resolve => http.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>(resolve => { http.closeAllConnections(); http.close(() => resolve()) }))
  const { port } = http.address() as { port: number }
  const client = createS3Client(`http://127.0.0.1:${port}`, { accessKey: 'AK', secretKey: 'SK' }, 'us-east-1', { maxAttempts: 1 })
  t.after(() => client.destroy())
  let pages = 0
  const listing = (async () => {
    for await (const _ of listPages({ client, bucket: { name: 'loop' }, region: new Limiter(2), signal: new AbortController().signal }, 1000)) {
      if (++pages > 20) return 'looping'
    }
    return 'ended'
  })()
  await assert.rejects(listing, /continuation token/)
  assert.ok(pages <= 2, `${pages} pages, ${requests} requests`)
})

test('an object whose HeadObject is refused (400 for an SSE-C object, 403 by an object ACL) still gets its event; the rest of the bucket is not held back', async (t) => {
  const { keys, deps } = setup()
  const name = `headless-${randomUUID().slice(0, 8)}`
  fake.createBucket(name)
  fake.seed(name, Array.from({ length: 30 }, (_, i) => ({ key: `k${String(i).padStart(3, '0')}` })))
  fake.intercept = req => {
    if (req.bucket !== name || req.op !== 'head') return undefined
    if (req.key === 'k005') return { status: 400, code: 'BadRequest', message: 'The object was stored using a form of Server Side Encryption.' }
    if (req.key === 'k006') return { status: 403, code: 'AccessDenied', message: 'Access Denied' }
    return undefined
  }
  t.after(() => { fake.intercept = undefined })
  const progress = await scan(deps, { name }, fake.endpoint, 10)
  assert.equal(progress.events.created, 30)
  const events = await drain(keys)
  assert.equal(new Set(events.map(e => e.key)).size, 30)
  const refused = events.find(e => e.key === 'k005')!
  assert.equal(refused.content_type, 'application/octet-stream')
  assert.deepEqual(refused.metadata, {})
})

test('an object whose HeadObject keeps failing (a 500, metadata headers too large to parse) is retried on a few scans, then announced with the listed fields and head_error; the rest of the bucket is never held', async (t) => {
  const { keys, deps } = setup()
  const headFailures = new HeadFailures(3)
  const name = `poison-${randomUUID().slice(0, 8)}`
  fake.createBucket(name)
  fake.seed(name, Array.from({ length: 30 }, (_, i) => ({ key: `k${String(i).padStart(3, '0')}` })))
  // Beyond the client's 16 KiB header limit: the response cannot even be parsed.
  fake.put(name, 'k008', 'big', { metadata: { huge: 'x'.repeat(20_000) } })
  fake.intercept = req => req.bucket === name && req.op === 'head' && req.key === 'k007' ? { status: 500, code: 'InternalError', message: 'We encountered an internal error.' } : undefined
  t.after(() => { fake.intercept = undefined })
  const first = await scanWith({ ...deps, headFailures }, { name }, { pageSize: 10, maxAttempts: 2 })
  assert.equal(first.events.created, 28)
  assert.deepEqual((await drain(keys)).map(e => e.key).filter(k => k === 'k007' || k === 'k008'), [])
  assert.equal((await scanWith({ ...deps, headFailures }, { name }, { pageSize: 10 })).events.created, 0)
  await scanWith({ ...deps, headFailures }, { name }, { pageSize: 10 })
  const late = await drain(keys)
  assert.deepEqual(late.map(e => e.key).sort(), ['k007', 'k008'])
  const listed = fake.objects(name).find(o => o.key === 'k007')!
  const poisoned = late.find(e => e.key === 'k007')!
  assert.equal(poisoned.etag, listed.etag)
  assert.equal(poisoned.size, listed.size)
  assert.equal(poisoned.last_modified, listed.lastModified / 1000)
  assert.equal(poisoned.content_type, 'application/octet-stream')
  assert.deepEqual(poisoned.metadata, {})
  assert.match(String((poisoned as Record<string, unknown>).head_error), /InternalError|500/)
  assert.match(String((late.find(e => e.key === 'k008') as Record<string, unknown>).head_error), /header/i)
  assert.equal((await scanWith({ ...deps, headFailures }, { name }, { pageSize: 10 })).changed, 0, 'announced once')
  assert.deepEqual(await drain(keys), [])
})

test('a store that accepts a request and never answers (or stalls its body) fails the scan at the deadline and frees the region slot', async (t) => {
  const { deps } = setup()
  for (const mode of ['silent', 'body'] as const) {
    const name = `hung-${mode}-${randomUUID().slice(0, 8)}`
    fake.createBucket(name)
    fake.put(name, 'a', 'a')
    fake.hang.set(name, mode)
    t.after(() => { fake.hang.delete(name) })
    const region = new Limiter(1)
    const timeouts: string[] = []
    const started = Date.now()
    // 3 attempts of at most 400 ms of silence each, within a 1 s deadline for the whole request.
    const scanning = scanWith(deps, { name }, { maxAttempts: 3, requestTimeoutMs: 400, target: { region, requestDeadlineMs: 1000, onRequestTimeout: op => timeouts.push(op) } })
    await assert.rejects(scanning, (err: { code?: string }) => err.code === 'S3_REQUEST_TIMEOUT')
    const tookMs = Date.now() - started
    assert.ok(tookMs < 2000, `${mode}: failed after ${tookMs} ms`)
    assert.deepEqual(timeouts, ['list'])
    assert.equal(region.active, 0, 'slot released')
    fake.hang.delete(name)
    assert.equal((await scanWith(deps, { name }, { requestTimeoutMs: 400, target: { region, requestDeadlineMs: 1000 } })).listed, 1, `${mode}: recovers with the store`)
  }
})

test('DNS rebinding: an endpoint name that resolved to an allowed address, then to a refused one, is refused by the scanner at connect time', async () => {
  const { keys, deps } = setup()
  const name = `rebind-${randomUUID().slice(0, 8)}`
  fake.createBucket(name)
  fake.put(name, 'a', 'a')
  // Only 127.0.0.1 is allowed; the name later resolves to 127.0.0.2 (refused, and still loopback,
  // so a guard that failed would send nothing off this machine: the fake S3 is not there).
  const policy = createNetworkPolicy(['127.0.0.1/32'])
  const answers: string[][] = []
  let resolutions = 0
  const resolve: Resolve = async host => {
    assert.equal(host, 'store.rebind.test')
    const addresses = resolutions++ === 0 ? ['127.0.0.1'] : ['127.0.0.2']
    answers.push(addresses)
    return addresses
  }
  const endpoint = `http://store.rebind.test:${new URL(fake.endpoint).port}`
  assert.equal((await scanWith(deps, { name }, { endpoint, policy, resolve })).listed, 1)
  assert.equal((await drain(keys)).length, 1)
  const listsBefore = fake.counts.list
  // A new client, so a new connection and a new resolution (as after a pooled socket closed).
  await assert.rejects(scanWith(deps, { name }, { endpoint, policy, resolve }), (err: { code?: string, message?: string }) => err.code === 'ADDRESS_REFUSED' && /127\.0\.0\.2/.test(err.message ?? ''))
  assert.deepEqual(answers, [['127.0.0.1'], ['127.0.0.2']])
  assert.equal(fake.counts.list, listsBefore, 'nothing reached the store')
  // IP literals are never looked up: the same policy refuses a literal endpoint before connecting.
  await assert.rejects(scanWith(deps, { name }, { endpoint: 'http://127.0.0.3:9', policy }), (err: { code?: string }) => err.code === 'ADDRESS_REFUSED')
})
