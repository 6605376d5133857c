import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { createBucketStore } from '@internal/buckets'
import { createScanHarness, useScanServers } from './scan-harness.ts'
import { trackedKeys, trackedState } from './state-support.ts'

// The object state in key-range chunks: deletions found in the one listing of a scan, chunk
// bounds that shift as keys come and go, and the move from the one hash per bucket.

const OLD = Date.now() - 3 * 86_400_000
const servers = useScanServers()

/** A bucket on the fake S3 and the versions it should be tracked at, changed together. */
function modelBucket (name: string) {
  servers.fake.createBucket(name)
  const versions = new Map<string, string>()
  let serial = 0
  const put = (keys: string[]) => {
    servers.fake.seed(name, keys.map(key => ({ key, etag: `${(++serial).toString(16).padStart(32, '0')}`, lastModified: OLD })))
    return keys.map(key => { const seen = versions.has(key); versions.set(key, String(serial)); return `${seen ? 'updated' : 'detected'} ${key}` })
  }
  const remove = (keys: string[]) => keys.map(key => { servers.fake.remove(name, key); versions.delete(key); return `deleted ${key}` })
  return { name, put, remove, keys: () => [...versions.keys()].sort() }
}

const padded = (prefix: string, n: number, from = 0) => Array.from({ length: n }, (_, i) => `${prefix}${String(from + i).padStart(5, '0')}`)

test('deletions are found in the one listing of a rescan: LIST calls = pages, each change once', async () => {
  const h = createScanHarness(servers.redis)
  const b = modelBucket(`one-${randomUUID().slice(0, 8)}`)
  b.put(padded('k/', 1000))
  await h.scan({ name: b.name }, { endpoint: servers.fake.endpoint, pageSize: 100 })
  await h.drain()
  // At page edges (first and last of a page of 100, first and last of the bucket) and inside pages.
  const expected = [
    ...b.remove(['k/00000', 'k/00099', 'k/00100', 'k/00455', 'k/00456', 'k/00999']),
    ...b.put(['k/00010', 'k/00500', 'k/00123x', 'a-first', 'z-last'])
  ]
  const [lists, heads] = [servers.fake.counts.list, servers.fake.counts.head]
  const rescan = await h.scan({ name: b.name }, { endpoint: servers.fake.endpoint, pageSize: 100 })
  assert.equal(servers.fake.counts.list - lists, rescan.pages, 'one listing')
  assert.equal(rescan.pages, 10)
  assert.deepEqual((await h.drain()).sort(), expected.sort())
  assert.deepEqual(await trackedKeys(servers.redis, h.keys, b.name), b.keys())
  // HeadObject for the two updates, and for deletions at a page's edge only.
  assert.ok(servers.fake.counts.head - heads <= 2 + 5, `${servers.fake.counts.head - heads} HeadObjects`)
  assert.equal(rescan.events.deleted, 6)
})

test('chunks stay listpack-encoded hashes of at most 128 entries, under 130 bytes per tracked object', async () => {
  const h = createScanHarness(servers.redis)
  const b = modelBucket(`mem-${randomUUID().slice(0, 8)}`)
  b.put(padded('data/2026/11/obj-', 5000))
  await h.scan({ name: b.name }, { endpoint: servers.fake.endpoint })
  b.put(padded('data/2026/11/obj-', 500, 10_000).concat(padded('data/2026/10/obj-', 500)))
  b.remove(padded('data/2026/11/obj-', 1500, 1000))
  await h.scan({ name: b.name }, { endpoint: servers.fake.endpoint })
  assert.deepEqual(await trackedKeys(servers.redis, h.keys, b.name), b.keys())
  const bounds = await servers.redis.zrange(h.keys.stateIndex(b.name), 0, -1)
  let bytes = Number(await servers.redis.memory('USAGE', h.keys.stateIndex(b.name), 'SAMPLES', '0'))
  for (const lower of bounds) {
    const chunk = h.keys.stateChunkPrefix(b.name) + lower
    assert.equal(await servers.redis.object('ENCODING', chunk), 'listpack')
    assert.ok(await servers.redis.hlen(chunk) <= 128)
    assert.ok(await servers.redis.ttl(chunk) > 0, 'every chunk expires with the state, those created by a later scan too')
    bytes += Number(await servers.redis.memory('USAGE', chunk, 'SAMPLES', '0'))
  }
  const perObject = bytes / b.keys().length
  assert.ok(perObject < 130, `${perObject.toFixed(1)} bytes per tracked object`)
  assert.equal(await servers.redis.hget(h.keys.stateMeta(b.name), 'objects'), String(b.keys().length))
})

test('chunk bounds shifting between scans (inserts before, between and after them, a bucket emptied, a bucket growing 1,000-fold): each change announced once', async () => {
  const h = createScanHarness(servers.redis)
  const b = modelBucket(`shift-${randomUUID().slice(0, 8)}`)
  const scanAndCheck = async (expected: string[], what: string) => {
    await h.scan({ name: b.name }, { endpoint: servers.fake.endpoint, pageSize: 70 })
    assert.deepEqual((await h.drain()).sort(), [...expected].sort(), what)
    assert.deepEqual(await trackedKeys(servers.redis, h.keys, b.name), b.keys(), what)
  }
  await scanAndCheck(b.put(padded('m/', 10)), 'ten objects')
  await scanAndCheck(b.put(padded('m/', 9990, 10)), 'grown 1,000-fold')
  await scanAndCheck([], 'no change')
  const bounds = (await servers.redis.zrange(h.keys.stateIndex(b.name), 0, -1)).filter(x => x !== '')
  assert.ok(bounds.length > 50, `${bounds.length} chunks`)
  const around = bounds.filter((_, i) => i % 7 === 3)
  const inserted = new Set(['0-before-all', 'a/', ...around.map(x => `${x}-after-bound`), ...around.map(x => x.slice(0, -1)), 'zz-after-all'])
  const removed = new Set([...around.slice(0, 5), ...padded('m/', 400, 3000)])
  await scanAndCheck([...b.put([...inserted]), ...b.remove([...removed])], 'inserts and deletes around the bounds')
  await scanAndCheck(b.remove(b.keys()), 'emptied')
  assert.ok(await servers.redis.zcard(h.keys.stateIndex(b.name)) <= 1, 'an empty state keeps at most the first chunk')
  await scanAndCheck(b.put(padded('again/', 300)), 'filled again')
})

test('keys with spaces, +, %, characters beyond the BMP and 1,024 bytes are tracked exactly, changed and deleted once', async () => {
  const h = createScanHarness(servers.redis)
  const b = modelBucket(`odd-${randomUUID().slice(0, 8)}`)
  const odd = [
    'a b', 'a+b', 'a%2Bb', '100%', 'sp ace/+/%20', 'emoji/😀.png', 'emoji/😁.png', 'emoji/\uffee.png', 'emoji/\ue000', 'ünï/ç',
    'l'.repeat(1024), 'é'.repeat(512), `${'x'.repeat(1020)}😀`, 'tab\there', 'quote"s\'<&>'
  ]
  const filler = padded('f/', 300)
  const scanAndCheck = async (expected: string[], what: string) => {
    await h.scan({ name: b.name }, { endpoint: servers.fake.endpoint, pageSize: 7 })
    assert.deepEqual((await h.drain()).sort(), [...expected].sort(), what)
    assert.deepEqual(await trackedKeys(servers.redis, h.keys, b.name), b.keys(), what)
  }
  await scanAndCheck(b.put([...odd, ...filler]), 'first scan')
  await scanAndCheck([], 'no change')
  await scanAndCheck([...b.put(odd.filter((_, i) => i % 2 === 0)), ...b.remove(odd.filter((_, i) => i % 2 === 1))], 'half changed, half deleted')
  await scanAndCheck(b.put(odd.filter((_, i) => i % 2 === 1)), 'back again')
})

test('state kept as one hash per bucket (earlier versions, an adopted original) moves into chunks at the first scan without re-announcing', async () => {
  const h = createScanHarness(servers.redis)
  const b = modelBucket(`hash-${randomUUID().slice(0, 8)}`)
  b.put(padded('k/', 700))
  await h.scan({ name: b.name }, { endpoint: servers.fake.endpoint })
  await h.drain()
  // Back to the one hash per bucket, as an earlier version left it.
  const state = await trackedState(servers.redis, h.keys, b.name)
  for (const lower of await servers.redis.zrange(h.keys.stateIndex(b.name), 0, -1)) await servers.redis.del(h.keys.stateChunkPrefix(b.name) + lower)
  await servers.redis.del(h.keys.stateIndex(b.name), h.keys.stateMeta(b.name))
  await servers.redis.hset(h.keys.objectState(b.name), state)
  const expected = [...b.put(['k/00005', 'new']), ...b.remove(['k/00300'])]
  await h.scan({ name: b.name }, { endpoint: servers.fake.endpoint, pageSize: 100 })
  assert.deepEqual((await h.drain()).sort(), expected.sort())
  assert.equal(await servers.redis.exists(h.keys.objectState(b.name)), 0)
  assert.deepEqual(await trackedKeys(servers.redis, h.keys, b.name), b.keys())
})

test('two scans of one bucket at once (a lease that ran out) announce each deletion once', async () => {
  const h = createScanHarness(servers.redis)
  const b = modelBucket(`two-${randomUUID().slice(0, 8)}`)
  b.put(padded('k/', 400))
  await h.scan({ name: b.name }, { endpoint: servers.fake.endpoint })
  await h.drain()
  const expected = [...b.remove(padded('k/', 40, 100)), ...b.put(['k/00100a'])]
  await Promise.all([1, 2].map(() => h.scan({ name: b.name }, { endpoint: servers.fake.endpoint, pageSize: 50 })))
  assert.deepEqual((await h.drain()).sort(), expected.sort())
})

test('removing a bucket drops every chunk of its state', async () => {
  const h = createScanHarness(servers.redis)
  const b = modelBucket(`gone-${randomUUID().slice(0, 8)}`)
  b.put(padded('k/', 600))
  await h.scan({ name: b.name }, { endpoint: servers.fake.endpoint })
  assert.ok((await servers.redis.keys(`${h.keys.stateChunkPrefix(b.name)}*`)).length > 2)
  assert.equal(await createBucketStore(servers.redis, h.keys).remove(b.name), true)
  assert.deepEqual(await servers.redis.keys(`*${b.name}*`), [])
})
