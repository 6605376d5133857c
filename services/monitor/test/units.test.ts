import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { S3ClientCache } from '../src/s3-clients.ts'
import { encodeFingerprint, decodeFingerprint } from '../src/fingerprint.ts'
import { createKeyFilter, compileGlob, guardRegexBacktracking } from '../src/patterns.ts'
import { createOrderCheck, keyBefore } from '../src/listing-order.ts'
import { Limiter, RegionSlots } from '../src/limiter.ts'
import { createMonitorMetrics } from '../src/metrics.ts'
import { createRegistry } from '@internal/telemetry'

test('fingerprints are compact and decode to what was listed', () => {
  const v = { etag: '5d41402abc4b2a76b9719d911017c592', size: 5, lastModifiedMs: 1_795_303_151_000 }
  const fp = encodeFingerprint(v)
  assert.ok(fp.length <= 30, fp)
  assert.equal(encodeFingerprint({ ...v, size: 46_655 }).length, 30, 'an object under 46 KB fits in 30 bytes')
  const ms = { ...v, lastModifiedMs: 1_795_303_151_123 }
  assert.deepEqual(decodeFingerprint(encodeFingerprint(ms)), ms)
  assert.deepEqual(decodeFingerprint(fp), v)
  const multipart = { etag: '9b2cf535f27731c974343645a3985328-12', size: 123_456_789, lastModifiedMs: 1 }
  assert.deepEqual(decodeFingerprint(encodeFingerprint(multipart)), multipart)
  fc.assert(fc.property(
    fc.oneof(fc.stringMatching(/^[0-9a-f]{32}$/), fc.constant('ffffffffffffffffffffffffffffffff'), fc.constant('00000000000000000000000000000000'), fc.string({ maxLength: 40 })),
    fc.nat(), fc.nat({ max: 4_102_444_800_000 }),
    (etag, size, lastModifiedMs) => { assert.deepEqual(decodeFingerprint(encodeFingerprint({ etag, size, lastModifiedMs })), { etag, size, lastModifiedMs }) }
  ))
})

test('globs: * and ? stay in a segment, ** crosses, basename for patterns without /', () => {
  assert.ok(compileGlob('*.part').test('a.part'))
  assert.ok(!compileGlob('*.part').test('dir/a.part'))
  assert.ok(compileGlob('logs/**').test('logs/2026/11/a.gz'))
  assert.ok(compileGlob('**/*.mp3').test('a.mp3'))
  assert.ok(compileGlob('**/*.mp3').test('x/y/a.mp3'))
  assert.ok(compileGlob('file?.txt').test('file1.txt'))
  assert.ok(compileGlob('a+b(c).txt').test('a+b(c).txt'))
  const filter = createKeyFilter(['*.mp3', '*.flac', 'incoming/**'], ['*.part', '~$*', '.*'])
  const watched = ['song.mp3', 'music/a/b.flac', 'incoming/x.bin', 'incoming/y/z.dat']
  const ignored = ['a.part', 'music/b.mp3.part', 'docs/~$report.mp3', '.hidden.mp3', 'dir/.hidden.flac', 'readme.txt', 'incoming/.tmp']
  for (const k of watched) assert.ok(filter(k), k)
  for (const k of ignored) assert.ok(!filter(k), k)
  assert.ok(createKeyFilter(undefined, undefined)('anything/at.all'))
})

test('listing order: strict byte order across pages, repeats and regressions caught', () => {
  const obj = (key: string) => ({ key, etag: 'e', size: 0, lastModifiedMs: 0 })
  const check = createOrderCheck()
  assert.ok(check.accept(['a', 'a-z', 'a.txt', 'a/x'].map(obj)))
  assert.ok(check.accept(['b'].map(obj)))
  assert.ok(!check.accept(['b'].map(obj)), 'a repeated key')
  const s3rverLike = createOrderCheck()
  assert.ok(!s3rverLike.accept(['a/x', 'a', 'a-z'].map(obj)))
  // UTF-8 byte order differs from UTF-16 code units around surrogates.
  assert.ok(keyBefore('\uffff', '\u{10000}'))
  assert.ok(!keyBefore('\u{10000}', '\uffff'))
})

test('limiter: at most `limit` at once, waiters served in order', async () => {
  const limiter = new Limiter(2)
  let active = 0
  let peak = 0
  const order: number[] = []
  await Promise.all(Array.from({ length: 6 }, (_, i) => limiter.run(async () => {
    active++
    peak = Math.max(peak, active)
    await new Promise(resolve => setTimeout(resolve, 5))
    order.push(i)
    active--
  })))
  assert.equal(peak, 2)
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5])
})

test('region slots: one bucket holds at most its share, and a freed slot goes to the bucket holding the fewest', async () => {
  const region = new RegionSlots(4, { perBucket: 2 })
  const gates: Array<() => void> = []
  const order: string[] = []
  const hold = (bucket: string) => region.forBucket(bucket).run(() => new Promise<void>(resolve => { order.push(bucket); gates.push(resolve) }))
  // A bucket whose requests never end takes 2 of the 4 slots, not all of them.
  const stuck = Array.from({ length: 5 }, () => hold('stuck'))
  await new Promise(resolve => setImmediate(resolve))
  assert.equal(region.held('stuck'), 2)
  const busy = Array.from({ length: 3 }, () => hold('busy'))
  const late = hold('late')
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(order, ['stuck', 'stuck', 'busy', 'busy'])
  gates.splice(2, 1)[0]!() // one of busy's ends: late (holding none) goes before busy's third and stuck's rest
  await new Promise(resolve => setImmediate(resolve))
  assert.equal(order.at(-1), 'late')
  assert.equal(region.active, 4)
  for (let round = 0; round < 20 && order.length < 9; round++) {
    for (const open of gates.splice(0)) open()
    await new Promise(resolve => setImmediate(resolve))
  }
  for (const open of gates.splice(0)) open()
  await Promise.all([...stuck, ...busy, late])
  assert.equal(order.length, 9)
  assert.equal(region.active, 0)
})

test('region slots: a request running past slowAfterMs stops counting against the limit (up to slowLimit), so a hung bucket frees slots for the others', async () => {
  const region = new RegionSlots(2, { perBucket: 2, slowAfterMs: 50, slowLimit: 1 })
  const hung: Array<() => void> = []
  const stuck = [0, 1].map(() => region.forBucket('hung').run(() => new Promise<void>(resolve => hung.push(resolve))))
  let served = 0
  const healthy = region.forBucket('healthy').run(async () => { served++ })
  await new Promise(resolve => setTimeout(resolve, 20))
  assert.equal(served, 0, 'both slots held by the hung bucket')
  await new Promise(resolve => setTimeout(resolve, 60))
  await healthy
  assert.equal(served, 1)
  assert.equal(region.slow, 1, 'only slowLimit requests are exempted')
  assert.equal(region.active, 1)
  assert.equal(region.held('hung'), 2, 'a slow request still counts in its bucket\'s share')
  for (const end of hung) end()
  await Promise.all(stuck)
  assert.deepEqual([region.active, region.slow, region.held('hung')], [0, 0, 0])
})

test('S3 client cache: a bucket whose credentials changed without a config change (rotated in the secret store) does not leave its old client behind', () => {
  const cache = new S3ClientCache({ signingRegion: 'us-east-1' })
  const first = cache.get('rotated', 'http://127.0.0.1:9', { accessKey: 'AK1', secretKey: 'SK1' })
  const shared = cache.get('other', 'http://127.0.0.1:9', { accessKey: 'AK1', secretKey: 'SK1' })
  assert.equal(shared, first)
  cache.get('rotated', 'http://127.0.0.1:9', { accessKey: 'AK2', secretKey: 'SK2' })
  assert.equal(cache.size, 2, 'the old client is still used by another bucket')
  cache.get('other', 'http://127.0.0.1:9', { accessKey: 'AK2', secretKey: 'SK2' })
  assert.equal(cache.size, 1, 'no bucket uses the old client any more')
  cache.close()
})

test('a hostile glob cannot stall the scanner once the backtracking guard is on', () => {
  guardRegexBacktracking()
  const filter = createKeyFilter(['*a*a*a*a*a*a*a*a*b'], undefined)
  const started = performance.now()
  assert.equal(filter('a'.repeat(2000)), false)
  assert.ok(performance.now() - started < 500, `took ${performance.now() - started} ms`)
  assert.equal(filter('xaaaaaaaab'), true)
})

test('per-bucket scan series carry the bucket, and a removed bucket\'s series go with it', async () => {
  const registry = createRegistry({ defaults: false })
  const m = createMonitorMetrics(registry)
  for (const bucket of ['gone', 'kept']) {
    m.scans.inc({ bucket, outcome: 'error' })
    m.scanSeconds.observe({ bucket, outcome: 'error' }, 0.2)
    m.scanErrors.inc({ bucket, kind: 'AccessDenied' })
    m.objectsListed.inc({ bucket }, 10)
    m.events.inc({ bucket, type: 'created' })
  }
  await m.bucketRemoved('gone')
  const text = await registry.metrics()
  assert.doesNotMatch(text, /bucket="gone"/)
  for (const name of ['scans_total', 'scan_duration_seconds_bucket', 'scan_errors_total', 'objects_listed_total', 'events_total']) {
    assert.match(text, new RegExp(`watch_folder_${name}\\{[^}]*bucket="kept"`), name)
  }
})
