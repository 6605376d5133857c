import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createLifecycle } from '@internal/redis'
import { DEFAULT_RETRY_SCHEDULE } from '@internal/config'
import { waitFor } from '../../../test/support/ports.ts'
import { harnessSuite, makeEvent, bucketConfig, type Harness } from './harness.ts'
import type { DeliveryReport } from '../src/observer.ts'

// Long stretches of time run on an injected clock. The visibility timeout is longer than any
// of them, so the clock's leaps never make this consumer's own heartbeat look stale.
const { name, receiver, harness, deadRecords } = harnessSuite()
const SEC = 1000
const MIN = 60 * SEC
const HOUR = 60 * MIN
const LONG = { visibility_timeout: 10 * 86_400 }

function createClock () {
  const clock = { t: Date.parse('2026-12-01T00:00:00Z'), now: () => clock.t }
  return clock
}

/** A seeded generator (mulberry32): the same failures on every run. */
function seeded (seed: number) {
  let a = seed
  return () => {
    a = (a + 0x6D2B79F5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A receiver that always answers `status`, recording the injected clock's time of each attempt. */
async function refusingReceiver (status: number) {
  const clock = createClock()
  const r = await receiver()
  const attempts: number[] = []
  r.respond = (_req, res) => { attempts.push(clock.t); res.statusCode = status; res.end() }
  return { clock, r, attempts }
}

/** Moves the clock to the next retry's due time; false when none is waiting. */
async function toNextRetry (h: Harness, clock: { t: number }): Promise<boolean> {
  const [, score] = await h.redis.zrange(h.keys.retry, 0, 0, 'WITHSCORES')
  if (score === undefined) return false
  clock.t = Math.max(clock.t, Number(score))
  return true
}

test('a receiver failing at random half the time for 10 minutes: nothing dead-lettered, every event delivered once it recovers (default schedule)', async (t) => {
  const clock = createClock()
  const recoverAt = clock.t + 10 * MIN
  const coin = seeded(11)
  const r = await receiver()
  const delivered = new Map<string, number>()
  let refused = 0
  r.respond = (req, res) => {
    if (clock.t < recoverAt && coin() < 0.5) { refused++; res.statusCode = 503; res.end(); return }
    delivered.set(req.json.event_id, (delivered.get(req.json.event_id) ?? 0) + 1)
    res.end()
  }
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, r.url)], webhook: { max_retries: undefined }, consumer: LONG, now: clock.now, random: seeded(5) })
  // An event every 2 s of simulated time (every 10 ms) while the receiver fails; then a
  // minute every 10 ms until every event is delivered (at most 4 h after the recovery).
  const events: ReturnType<typeof makeEvent>[] = []
  while (clock.t < recoverAt) {
    const event = makeEvent(bucket, events.length)
    events.push(event)
    await h.push(event)
    await sleep(10)
    clock.t += 2 * SEC
  }
  while (delivered.size < events.length && clock.t < recoverAt + 4 * HOUR) {
    await sleep(10)
    clock.t += MIN
  }
  await waitFor(async () => await h.redis.llen(h.keys.queue) === 0 && h.consumer.worker.inFlight === 0)
  t.diagnostic(`503 answers during the 10 minutes: ${refused}; delivered after ${Math.round((clock.t - recoverAt) / MIN)} simulated minutes past recovery`)
  assert.ok(refused >= 100, `the receiver refused often (${refused})`)
  assert.equal(delivered.size, events.length)
  assert.ok([...delivered.values()].every(n => n === 1), 'each delivered once')
  assert.deepEqual(await deadRecords(h), [])
  assert.equal(await h.redis.zcard(h.keys.retry), 0)
})

test('the default schedule: waits of 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (±20 %), then the dead-letter list', async () => {
  const { clock, r, attempts } = await refusingReceiver(500)
  const bucket = name()
  const reports: DeliveryReport[] = []
  const h = await harness({ buckets: [bucketConfig(bucket, r.url)], webhook: { max_retries: undefined }, consumer: LONG, now: clock.now, random: Math.random, observer: { report: x => reports.push(x) } })
  await h.push(makeEvent(bucket, 1))
  for (let n = 1; n <= DEFAULT_RETRY_SCHEDULE.length; n++) {
    await waitFor(async () => attempts.length === n && await h.redis.zcard(h.keys.retry) === 1, { what: `attempt ${n} scheduled again` })
    assert.ok(await toNextRetry(h, clock))
  }
  await waitFor(async () => (await deadRecords(h)).length === 1, { what: 'the dead letter' })
  const waits = attempts.slice(1).map((at, i) => (at - attempts[i]!) / SEC)
  for (const [i, wait] of waits.entries()) {
    const planned = DEFAULT_RETRY_SCHEDULE[i]!
    assert.ok(wait >= planned * 0.8 && wait <= planned * 1.2, `wait ${i + 1}: ${wait} s within ±20 % of ${planned} s`)
  }
  assert.equal(attempts.length, 8)
  const [dead] = await deadRecords(h)
  assert.equal(dead.reason, 'gave up after 8 attempts: receiver answered 500')
  assert.equal(dead.attempts, 8)
  // The observer heard each step: in flight before each POST, then scheduled (7) and dead.
  assert.deepEqual(reports.map(x => x.state), [...Array(7).fill(['in_flight', 'scheduled']).flat(), 'in_flight', 'dead'])
  const scheduled = reports.filter(x => x.state === 'scheduled')
  assert.ok(scheduled.every(x => x.attempt?.status === 500 && typeof x.next_at === 'number' && x.attempt.duration_ms >= 0))
  console.log(`default schedule, observed waits (s): ${waits.map(w => w.toFixed(1)).join(', ')}`)
})

test('410: the subscription is disabled (gone) and its events parked; enable delivers every parked event in order, then new ones, none lost or doubled', async () => {
  const r = await receiver()
  let gone = true
  r.respond = (_req, res) => { res.statusCode = gone ? 410 : 200; res.end() }
  const bucket = name()
  const reports: DeliveryReport[] = []
  const h = await harness({ buckets: [bucketConfig(bucket, r.url)], consumer: { webhook_threads: 1, batch_size: 1 }, observer: { report: x => reports.push(x) } })
  await h.push(makeEvent(bucket, 0))
  const lifecycle = createLifecycle(h.redis, h.keys)
  await waitFor(async () => (await lifecycle.read(bucket, 'default')).parked === 1, { what: 'the 410 event parked' })
  const more = Array.from({ length: 40 }, (_, i) => makeEvent(bucket, i + 1))
  await h.push(...more)
  await waitFor(async () => (await lifecycle.read(bucket, 'default')).parked === 41, { what: '41 parked' })
  assert.equal(r.requests.length, 1, 'only the first event reached the gone receiver')
  assert.deepEqual(await lifecycle.read(bucket, 'default'), { state: 'disabled', disabled_reason: 'gone', failing_since: null, parked: 41 })
  assert.deepEqual(await deadRecords(h), [])
  const metrics = await h.registry.metrics()
  assert.match(metrics, new RegExp(`watch_folder_subscription_state\\{bucket="${bucket}",subscription="default",state="disabled",reason="gone"\\} 1`))
  assert.match(metrics, new RegExp(`watch_folder_subscription_parked\\{bucket="${bucket}",subscription="default"\\} 41`))

  gone = false
  r.requests.length = 0
  assert.equal(await lifecycle.enable(bucket, 'default', Date.now()), 41)
  const newer = Array.from({ length: 10 }, (_, i) => makeEvent(bucket, i + 100))
  await h.push(...newer)
  await waitFor(() => r.requests.length >= 51, { what: '51 deliveries' })
  await sleep(200)
  const keys = r.requests.map(q => q.json.key as string)
  assert.deepEqual(keys, [makeEvent(bucket, 0), ...more, ...newer].map(e => e.key), 'parked oldest first, then new ones, each once')
  assert.deepEqual(await lifecycle.read(bucket, 'default'), { state: 'active', disabled_reason: null, failing_since: null, parked: 0 })
  assert.deepEqual(await deadRecords(h), [])
  // The observer: the 410 attempt parked, the others parked without an attempt, then 51 deliveries.
  const [inFlight, gonePark, ...rest] = reports
  assert.deepEqual([inFlight!.state, gonePark!.state, gonePark!.reason, gonePark!.attempt?.status], ['in_flight', 'parked', 'receiver answered 410', 410])
  const parkedAfter = rest.filter(x => x.state === 'parked')
  assert.equal(parkedAfter.length, 40)
  assert.ok(parkedAfter.every(x => x.reason === 'subscription disabled (gone)' && x.attempt === undefined && x.subscription === 'default'))
  const deliveries = rest.filter(x => x.state === 'delivered')
  assert.equal(deliveries.length, 51)
  assert.ok(deliveries.every(x => x.attempt?.status === 200 && x.attempt.error === null && typeof x.event.event_id === 'string' && !('subscription' in x.event)))
})

test('failing without a success for webhook.disable_after disables the subscription (failing) and parks; a disabled one parks new events', async () => {
  const clock = createClock()
  const r = await receiver()
  r.respond = (_req, res) => { res.statusCode = 503; res.end() }
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, r.url)], webhook: { retry_schedule: Array(20).fill(600), disable_after: 3600, circuit_threshold: 100 }, consumer: LONG, now: clock.now })
  const lifecycle = createLifecycle(h.redis, h.keys)
  const start = clock.t
  await h.push(makeEvent(bucket, 1))
  await waitFor(async () => (await lifecycle.read(bucket, 'default')).failing_since === start && await h.redis.zcard(h.keys.retry) === 1, { what: 'the first failure recorded' })
  const parked = async () => (await lifecycle.read(bucket, 'default')).parked
  for (let n = 2; await parked() === 0 && n <= 10; n++) {
    assert.ok(await toNextRetry(h, clock))
    await waitFor(async () => r.requests.length === n && (await h.redis.zcard(h.keys.retry) === 1 || await parked() === 1), { what: `attempt ${n} settled` })
  }
  assert.equal(r.requests.length, 7, 'attempts at 0, 10, ..., 60 minutes: the seventh crossed disable_after')
  assert.equal(clock.t - start, HOUR)
  assert.deepEqual(await lifecycle.read(bucket, 'default'), { state: 'disabled', disabled_reason: 'failing', failing_since: start, parked: 1 })
  await h.push(makeEvent(bucket, 2))
  await waitFor(async () => (await lifecycle.read(bucket, 'default')).parked === 2, { what: 'a new event parked' })
  assert.equal(r.requests.length, 7)
  assert.deepEqual(await deadRecords(h), [])
})

test('parking is bounded by webhook.max_parked: the oldest go to the dead-letter list with the reason', async () => {
  const r = await receiver()
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, r.url, { default_subscription: { enabled: false } })], webhook: { max_parked: 5 }, consumer: { webhook_threads: 1, batch_size: 1 } })
  const events = Array.from({ length: 8 }, (_, i) => makeEvent(bucket, i))
  await h.push(...events)
  const lifecycle = createLifecycle(h.redis, h.keys)
  await waitFor(async () => (await deadRecords(h)).length === 3, { what: 'three dead letters' })
  assert.deepEqual(await lifecycle.read(bucket, 'default'), { state: 'disabled', disabled_reason: 'operator', failing_since: null, parked: 5 })
  const dead = (await deadRecords(h)).reverse() // oldest first
  assert.deepEqual(dead.map(d => d.event.event_id), events.slice(0, 3).map(e => e.event_id))
  for (const d of dead) {
    assert.match(d.reason, /^parked beyond webhook\.max_parked \(5\) while subscription default was disabled$/)
    assert.equal(d.subscription, 'default')
    assert.equal(typeof d.id, 'string')
  }
  const parked = (await h.redis.lrange(h.keys.parked(bucket, 'default'), 0, -1)).map(p => JSON.parse(p).event_id)
  assert.deepEqual(parked, events.slice(3).map(e => e.event_id))
  assert.equal(r.requests.length, 0)
})

test('a subscription\'s own retry_schedule replaces the global one', async () => {
  const { clock, r, attempts } = await refusingReceiver(502)
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, r.url, { default_subscription: { retry_schedule: [90] } })], webhook: { retry_schedule: [5, 5, 5] }, consumer: LONG, now: clock.now })
  await h.push(makeEvent(bucket, 1))
  await waitFor(async () => await h.redis.zcard(h.keys.retry) === 1, { what: 'the retry' })
  assert.ok(await toNextRetry(h, clock))
  await waitFor(async () => (await deadRecords(h)).length === 1, { what: 'the dead letter after its one retry' })
  assert.deepEqual(attempts.map(at => (at - attempts[0]!) / SEC), [0, 90])
  assert.equal((await deadRecords(h))[0].reason, 'gave up after 2 attempts: receiver answered 502')
})
