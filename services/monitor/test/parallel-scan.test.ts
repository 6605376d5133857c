import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { Limiter } from '../src/limiter.ts'
import { createScanHarness, useScanServers } from './scan-harness.ts'
import { trackedKeys } from './state-support.ts'

// One bucket listed as several key ranges at once, bounded by the region's S3 slots.

const OLD = Date.now() - 3 * 86_400_000
const servers = useScanServers()

/** Counts the most S3 operations it held at once. */
class PeakLimiter extends Limiter {
  peak = 0
  override acquire (): Promise<void> {
    return super.acquire().then(() => { this.peak = Math.max(this.peak, this.active) })
  }
}

const keysOf = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`)

function seeded (n: number, prefix = 'k/') {
  const name = `par-${randomUUID().slice(0, 8)}`
  servers.fake.createBucket(name)
  servers.fake.seed(name, keysOf(prefix, n).map(key => ({ key, lastModified: OLD })))
  return name
}

test('a rescan lists its key ranges concurrently, within the region slots, one LIST per page', async () => {
  const h = createScanHarness(servers.redis)
  const name = seeded(3000)
  await h.scan({ name }, { endpoint: servers.fake.endpoint, pageSize: 50 })
  await h.drain()
  servers.fake.remove(name, 'k/00007')
  servers.fake.remove(name, 'k/02999')
  servers.fake.seed(name, [{ key: 'k/01500x', lastModified: OLD }, { key: 'a', lastModified: OLD }])
  const region = new PeakLimiter(3)
  const lists = servers.fake.counts.list
  servers.fake.latencyMs = 5
  const rescan = await h.scan({ name }, { endpoint: servers.fake.endpoint, pageSize: 50, region }).finally(() => { servers.fake.latencyMs = 0 })
  assert.ok(rescan.ranges >= 4, `${rescan.ranges} ranges`)
  assert.equal(region.peak, 3, 'every slot used, never more')
  assert.ok(servers.fake.counts.list - lists <= rescan.pages + rescan.ranges, `${servers.fake.counts.list - lists} LIST calls for ${rescan.pages} pages`)
  assert.equal(rescan.listed, 3000)
  assert.deepEqual((await h.drain()).sort(), ['deleted k/00007', 'deleted k/02999', 'detected a', 'detected k/01500x'])
  assert.equal((await trackedKeys(servers.redis, h.keys, name)).length, 3000)
})

test('a first scan splits its listing, once it proves long, at the common prefixes of a delimiter listing from where it got', async () => {
  const h = createScanHarness(servers.redis)
  const name = `probe-${randomUUID().slice(0, 8)}`
  servers.fake.createBucket(name)
  const all = Array.from({ length: 12 }, (_, d) => keysOf(`tenant${String(d).padStart(2, '0')}/obj-`, 150)).flat()
  servers.fake.seed(name, all.map(key => ({ key, lastModified: OLD })))
  const region = new PeakLimiter(4)
  const first = await h.scan({ name }, { endpoint: servers.fake.endpoint, pageSize: 40, region })
  assert.ok(first.ranges >= 4, `${first.ranges} ranges`)
  assert.ok(region.peak > 1)
  const events = await h.drain()
  assert.equal(events.length, all.length)
  assert.deepEqual(events.sort(), all.map(k => `detected ${k}`).sort())
})

test('a listing failing in one range deletes nothing in any range; the next scan deletes each once', async () => {
  const h = createScanHarness(servers.redis)
  const name = seeded(3000)
  await h.scan({ name }, { endpoint: servers.fake.endpoint, pageSize: 50 })
  await h.drain()
  const removed = keysOf('k/', 3000).filter((_, i) => i % 50 === 7)
  for (const key of removed) servers.fake.remove(name, key)
  let failures = 0
  // The first listing to reach its third page fails there (one range); the others have staged deletions by then.
  servers.fake.intercept = req => req.bucket === name && req.op === 'list' && req.page === 3 && failures++ === 0 ? { status: 500, code: 'InternalError' } : undefined
  servers.fake.latencyMs = 5
  try {
    await assert.rejects(h.scan({ name }, { endpoint: servers.fake.endpoint, pageSize: 50, region: new Limiter(4) }))
  } finally {
    servers.fake.intercept = undefined
    servers.fake.latencyMs = 0
  }
  assert.equal(failures > 0, true)
  assert.deepEqual(await h.drain(), [])
  assert.equal((await trackedKeys(servers.redis, h.keys, name)).length, 3000)
  const ok = await h.scan({ name }, { endpoint: servers.fake.endpoint, pageSize: 50 })
  assert.ok(ok.ranges > 1)
  assert.deepEqual((await h.drain()).sort(), removed.map(k => `deleted ${k}`).sort())
})
