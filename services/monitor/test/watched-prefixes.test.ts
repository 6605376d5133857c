import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { literalPrefixes } from '../src/patterns.ts'
import { createScanHarness, useScanServers } from './scan-harness.ts'
import { trackedKeys } from './state-support.ts'

// Buckets whose include patterns all start with a literal prefix: only those prefixes are listed.

const OLD = Date.now() - 3 * 86_400_000
const servers = useScanServers()

test('the literal prefixes of include patterns, or none when a pattern can match anywhere', () => {
  assert.deepEqual(literalPrefixes(['incoming/*.jpg']), ['incoming/'])
  assert.deepEqual(literalPrefixes(['b/x/**', 'a/*.png', 'b/**', 'a/*.jpg']), ['a/', 'b/'])
  assert.deepEqual(literalPrefixes(['exact/key.txt']), ['exact/key.txt'])
  assert.deepEqual(literalPrefixes(['incoming/?.jpg', 'in*/x']), ['in'])
  assert.equal(literalPrefixes(undefined), undefined)
  assert.equal(literalPrefixes([]), undefined)
  assert.equal(literalPrefixes(['incoming/*.jpg', '*.png']), undefined, 'a pattern without / also matches the last segment anywhere')
  assert.equal(literalPrefixes(['**/x.jpg']), undefined)
})

test('only the watched prefixes are listed and checked for deletions; state outside them is dropped silently', async () => {
  const h = createScanHarness(servers.redis)
  const name = `pre-${randomUUID().slice(0, 8)}`
  servers.fake.createBucket(name)
  const seed = (keys: string[]) => servers.fake.seed(name, keys.map(key => ({ key, lastModified: OLD })))
  const range = (p: string, n: number, ext: string) => Array.from({ length: n }, (_, i) => `${p}${String(i).padStart(4, '0')}${ext}`)
  seed([...range('incoming/', 120, '.jpg'), ...range('incoming/', 30, '.txt'), ...range('other/', 3000, '.jpg'), ...range('archive/2026/', 40, '.bin'), 'incoming.jpg'])
  // Tracked by an earlier scan with other patterns.
  await h.scan({ name, include: ['other/0001.jpg'] }, { endpoint: servers.fake.endpoint })
  await h.drain()
  const bucket = { name, include: ['incoming/*.jpg', 'archive/2026/**'] }
  const lists = servers.fake.counts.list
  const first = await h.scan(bucket, { endpoint: servers.fake.endpoint, pageSize: 50 })
  assert.equal(servers.fake.counts.list - lists, 3 + 1, 'incoming/ in three pages of 50, archive/2026/ in one')
  assert.equal(first.listed, 150 + 40)
  assert.equal((await h.drain()).length, 160)
  servers.fake.remove(name, 'incoming/0005.jpg')
  servers.fake.remove(name, 'incoming/0119.jpg')
  servers.fake.remove(name, 'archive/2026/0000.bin')
  seed(['incoming/new.jpg', 'other/new.jpg'])
  await h.scan(bucket, { endpoint: servers.fake.endpoint, pageSize: 50 })
  assert.deepEqual((await h.drain()).sort(), ['deleted archive/2026/0000.bin', 'deleted incoming/0005.jpg', 'deleted incoming/0119.jpg', 'detected incoming/new.jpg'])
  // other/0001.jpg, tracked before the patterns were narrowed, is dropped silently, other/ never listed.
  const tracked = await trackedKeys(servers.redis, h.keys, name)
  assert.equal(tracked.length, 118 + 1 + 39)
  assert.ok(tracked.every(k => k.startsWith('incoming/') || k.startsWith('archive/2026/')))
})

test('a watched prefix is itself split into concurrent ranges, on the first scan and after', async () => {
  const h = createScanHarness(servers.redis)
  const name = `pre-split-${randomUUID().slice(0, 8)}`
  servers.fake.createBucket(name)
  const keys = Array.from({ length: 25 }, (_, d) => Array.from({ length: 100 }, (_, i) => `incoming/d${String(d).padStart(2, '0')}/${String(i).padStart(3, '0')}.jpg`)).flat()
  servers.fake.seed(name, [...keys, 'outside/x.jpg', 'zzz.jpg'].map(key => ({ key, lastModified: OLD })))
  const bucket = { name, include: ['incoming/**/*.jpg'] }
  const first = await h.scan(bucket, { endpoint: servers.fake.endpoint, pageSize: 50 })
  assert.ok(first.ranges > 1, `${first.ranges} ranges`)
  assert.deepEqual((await h.drain()).sort(), keys.map(k => `detected ${k}`).sort())
  const removed = keys.filter((_, i) => i % 97 === 5)
  for (const key of removed) servers.fake.remove(name, key)
  servers.fake.seed(name, [{ key: 'incoming/d07/new.jpg', lastModified: OLD }])
  const rescan = await h.scan(bucket, { endpoint: servers.fake.endpoint, pageSize: 50 })
  assert.ok(rescan.ranges > 1, `${rescan.ranges} ranges`)
  assert.deepEqual((await h.drain()).sort(), [...removed.map(k => `deleted ${k}`), 'detected incoming/d07/new.jpg'].sort())
  assert.equal((await trackedKeys(servers.redis, h.keys, name)).length, keys.length - removed.length + 1)
})
