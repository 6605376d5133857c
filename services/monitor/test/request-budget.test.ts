import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { createKeys } from '@internal/redis'
import { Limiter } from '../src/limiter.ts'
import { RequestBudgets } from '../src/request-budget.ts'
import { createScanHarness, useScanServers } from './scan-harness.ts'

// A bucket's S3 requests, from every replica together, within its per-second budget, as the
// store sees them; a SlowDown lowers the rate and the scan still completes.

const OLD = Date.now() - 3 * 86_400_000
const servers = useScanServers()

/** The most requests any one-second window holds, times in ms. */
function busiestSecond (times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b)
  let most = 0
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= 1000) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}

function budgetsFor (prefix: string, limit: number) {
  const keys = createKeys({ queueName: `${prefix}:q`, deadLetterName: `${prefix}:d`, statePrefix: `${prefix}:s:` })
  return new RequestBudgets({ redis: servers.redis, keys, limitOf: () => limit })
}

test('two replicas hammering one bucket never exceed its budget in any one-second window, and use most of it', async () => {
  const prefix = `b${randomUUID().slice(0, 8)}`
  const replicas = [budgetsFor(prefix, 60), budgetsFor(prefix, 60)]
  const signal = new AbortController().signal
  setMaxListeners(0, signal)
  const times: number[] = []
  const until = Date.now() + 2600
  await Promise.all(replicas.flatMap(r => Array.from({ length: 20 }, async () => {
    const scope = r.scope('bkt', signal)
    while (Date.now() < until) {
      await scope.take()
      times.push(Date.now())
    }
  })))
  assert.ok(busiestSecond(times) <= 60, `busiest second held ${busiestSecond(times)} grants`)
  // 60 per 1.15 s window over 2.6 s (plus the last wave granted just before the end).
  assert.ok(times.length >= 120, `only ${times.length} grants in 2.6 s`)
})

test('a parallel scan sends the store no more requests in any second than the bucket allows', async () => {
  const h = createScanHarness(servers.redis)
  const name = `budget-${randomUUID().slice(0, 8)}`
  servers.fake.createBucket(name)
  servers.fake.seed(name, Array.from({ length: 4000 }, (_, i) => ({ key: `k/${String(i).padStart(5, '0')}`, lastModified: OLD })))
  await h.scan({ name, first_scan: 'baseline' }, { endpoint: servers.fake.endpoint, pageSize: 50 })
  servers.fake.seed(name, Array.from({ length: 60 }, (_, i) => ({ key: `k/${String(i * 60).padStart(5, '0')}x`, lastModified: OLD })))
  const seen: number[] = []
  servers.fake.intercept = req => { if (req.bucket === name) seen.push(Date.now()); return undefined }
  const budgets = new RequestBudgets({ redis: servers.redis, keys: h.keys, limitOf: () => 25 })
  const signal = new AbortController().signal
  setMaxListeners(0, signal)
  try {
    await h.scan({ name }, { endpoint: servers.fake.endpoint, pageSize: 50, region: new Limiter(8), budget: budgets.scope(name, signal) })
  } finally {
    servers.fake.intercept = undefined
  }
  const events = await h.drain()
  assert.equal(events.length, 60)
  assert.ok(seen.length >= 80, `the scan made ${seen.length} requests`)
  assert.ok(busiestSecond(seen) <= 25, `the store saw ${busiestSecond(seen)} requests in one second`)
})

test('SlowDown halves the bucket\'s rate, the scan completes with nothing lost, and the rate climbs back', async () => {
  const h = createScanHarness(servers.redis)
  const name = `slow-${randomUUID().slice(0, 8)}`
  servers.fake.createBucket(name)
  servers.fake.seed(name, Array.from({ length: 1500 }, (_, i) => ({ key: `k/${String(i).padStart(5, '0')}`, lastModified: OLD })))
  let refusals = 3
  servers.fake.intercept = req => req.bucket === name && req.op === 'list' && refusals-- > 0 ? { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' } : undefined
  const throttled: string[] = []
  const rates: number[] = []
  const budgets = new RequestBudgets({ redis: servers.redis, keys: h.keys, limitOf: () => 200, onThrottled: b => throttled.push(b), onRate: (_b, r) => rates.push(r) })
  const signal = new AbortController().signal
  setMaxListeners(0, signal)
  try {
    await h.scan({ name, first_scan: 'baseline' }, { endpoint: servers.fake.endpoint, pageSize: 100, budget: budgets.scope(name, signal), maxAttempts: 5 })
  } finally {
    servers.fake.intercept = undefined
  }
  assert.ok(throttled.length >= 1)
  assert.ok(Math.min(...rates) <= 100, `lowest rate granted at: ${Math.min(...rates)}`)
  assert.equal(Number(await servers.redis.hget(h.keys.stateMeta(name), 'objects')), 1500)
  // The rate recovers by 2 % of the limit (4 requests/s) each second, by Redis's own clock:
  // halved to 100 ten seconds ago, it is 140 now; long ago, back at the limit and forgotten.
  const key = h.keys.requestRate(name)
  const [sec, usec] = await servers.redis.time()
  const redisNow = Number(sec) * 1000 + Math.floor(Number(usec) / 1000)
  await servers.redis.hset(key, { rate: '100', lowered_at: String(redisNow - 10_000) })
  const recovered = await budgets.rate(name)
  assert.ok(recovered >= 139 && recovered <= 142, `recovered to ${recovered}`)
  await servers.redis.hset(key, 'lowered_at', String(redisNow - 100_000))
  assert.equal(await budgets.rate(name), 200)
  assert.equal(await servers.redis.exists(key), 0)
})

test('a wait for the budget ends with the scan', async () => {
  const budgets = budgetsFor(`a${randomUUID().slice(0, 8)}`, 1)
  const controller = new AbortController()
  const scope = budgets.scope('one', controller.signal)
  await scope.take()
  const waiting = scope.take()
  controller.abort(new Error('scan aborted'))
  await assert.rejects(waiting, /scan aborted/)
})
