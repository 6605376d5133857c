import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { freePort } from '../../../test/support/ports.ts'
import { Redis as Client } from 'ioredis'
import { createHistory, createKeys, createRecorder, HISTORY_ATTEMPTS, type ActivityEvent, type Redis } from '../src/index.ts'

const DAY_MS = 24 * 3600 * 1000
const TTL_MS = 7 * DAY_MS

let server: RedisServer
let redis: Redis
before(async () => {
  server = await startRedis()
  redis = server.client()
  const keys = createKeys({ queueName: 'q', deadLetterName: 'd', statePrefix: 's:' })
  // History is kept for configured buckets and the subscriptions they list (and `default`).
  const config = JSON.stringify({ subscriptions: [{ id: 'thumbs' }, { id: 'archive' }] })
  for (const bucket of ['b', 'x', 'p', 'mem', 'r', 'c']) await redis.set(keys.bucketConfig(bucket), config)
})
after(async () => { await server.stop() })

function setup () {
  const prefix = `t:${randomUUID()}`
  const keys = createKeys({ queueName: `${prefix}:queue`, deadLetterName: `${prefix}:dead`, statePrefix: `${prefix}:state:` })
  return { keys, history: createHistory(redis, keys, { ttlMs: TTL_MS }) }
}

// An event as the monitor enqueues it (about 330 bytes of JSON).
function event (bucket: string, i: number, detectedMs: number) {
  return {
    bucket,
    key: `tenant3/2026/11/05/obj-${String(i).padStart(6, '0')}.json`,
    region: 'us-east-1.linodeobjects.com',
    etag: 'd41d8cd98f00b204e9800998ecf8427e',
    size: 123_456,
    last_modified: detectedMs / 1000 - 5,
    event_type: 'created',
    content_type: 'application/json',
    metadata: {},
    detection_time: detectedMs / 1000,
    is_recent: true,
    event_id: randomUUID().replaceAll('-', '') // 32 hex digits, as eventId() makes them
  }
}

const attempt = (at: number, status: number | null, error: string | null = null) => ({ at, status, duration_ms: 12, error, excerpt: status === 200 ? null : 'upstream unavailable' })

test('an event keeps its fields from the detection, and per subscription its state and its last 20 attempts', async () => {
  const { history } = setup()
  const now = Date.now()
  const e = event('b', 1, now)
  await history.record([{ event: e }], now)
  for (let i = 0; i < 25; i++) await history.record([{ event: { ...e, retry_count: i }, subscription: 'thumbs', state: 'scheduled', attempt: attempt(now + i, 503), next_at: now + 1000 }], now + i)
  await history.record([{ event: e, subscription: 'thumbs', state: 'delivered', attempt: attempt(now + 30, 200) }], now + 30)
  await history.record([{ event: e, subscription: 'archive', state: 'in_flight' }], now + 31)
  const rec = (await history.get(e.event_id))!
  assert.deepEqual(rec.event, e, 'the first record\'s fields stay')
  assert.deepEqual(rec.deliveries.map(d => [d.subscription, d.state, d.attempts.length]), [['archive', 'in_flight', 0], ['thumbs', 'delivered', HISTORY_ATTEMPTS]])
  const thumbs = rec.deliveries[1]!
  assert.equal(thumbs.next_at, undefined, 'a delivered subscription has no next attempt')
  assert.deepEqual(thumbs.attempts.at(-1), attempt(now + 30, 200))
  assert.equal(thumbs.attempts[0]!.at, now + 6, 'the oldest attempts were dropped')
  assert.equal(await history.get('unknown'), undefined)
})

test('a step of a bucket or subscription no longer configured is not recorded, so a late delivery does not bring it back', async () => {
  const { history, keys } = setup()
  const now = Date.now()
  const e = event('gone', 1, now)
  assert.equal(await history.record([{ event: e }, { event: e, subscription: 'default', state: 'dead', attempt: attempt(now, null, 'BUCKET_UNKNOWN: gone') }], now), 0)
  assert.equal(await history.get(e.event_id), undefined)
  assert.equal(await redis.exists(keys.historyBucket('gone')), 0)
  const kept = event('b', 2, now)
  await history.record([{ event: kept, subscription: 'deleted-one', state: 'delivered' }, { event: kept, subscription: 'default', state: 'delivered' }], now)
  assert.deepEqual((await history.get(kept.event_id))!.deliveries.map(d => d.subscription), ['default'])
})

test('forgetting a subscription removes its deliveries from every event of the bucket and keeps the rest', async () => {
  const { history, keys } = setup()
  const now = Date.now()
  const events = Array.from({ length: 1200 }, (_, i) => event('c', i, now))
  for (let i = 0; i < events.length; i += 200) {
    await history.record(events.slice(i, i + 200).flatMap(e => [
      { event: e, subscription: 'thumbs', state: 'delivered', attempt: attempt(now, 200) },
      { event: e, subscription: 'archive', state: 'scheduled', attempt: attempt(now, 503), next_at: now + 1000 }
    ]), now)
  }
  const only = event('c', 5000, now)
  await history.record([{ event: only, subscription: 'thumbs', state: 'dead' }], now)
  assert.equal(await history.forgetSubscription('c', 'thumbs'), 1201)
  assert.deepEqual((await history.get(events[700]!.event_id))!.deliveries.map(d => d.subscription), ['archive'])
  assert.deepEqual((await history.get(only.event_id))!.deliveries, [])
  assert.ok(await redis.pttl(keys.historyEvent(only.event_id)) > TTL_MS - 60_000, 'the expiry is kept')
  assert.equal(await history.forgetSubscription('c', 'thumbs'), 0)
})

test('history expires by the clock of whoever records: a step 8 days ago is gone, 6 days ago kept', async () => {
  const { history, keys } = setup()
  const now = Date.now()
  const old = event('x', 1, now - 8 * DAY_MS)
  const recent = event('x', 2, now - 6 * DAY_MS)
  await history.record([{ event: old, subscription: 'default', state: 'delivered', attempt: attempt(now - 8 * DAY_MS, 200) }], now - 8 * DAY_MS)
  await history.record([{ event: recent, subscription: 'default', state: 'delivered', attempt: attempt(now - 6 * DAY_MS, 200) }], now - 6 * DAY_MS)
  assert.equal(await history.get(old.event_id), undefined)
  assert.ok(await history.get(recent.event_id))
  const ttl = await redis.pttl(keys.historyEvent(recent.event_id))
  assert.ok(Math.abs(ttl - DAY_MS) < 60_000, `expires a day from now (${ttl} ms)`)
  // A later step records with its own now and drops index entries older than the TTL.
  const page = await history.page('x', { limit: 10 })
  assert.deepEqual(page.items.map(r => r.event.event_id), [recent.event_id])
  await history.record([{ event: event('x', 3, now) }], now + 2 * DAY_MS)
  assert.equal(await redis.zcard(keys.historyBucket('x')), 1, 'the 6-day-old entry fell out of the index at the 8th day')
})

test('pages newest first by an exclusive cursor, within since/until, filtered', async () => {
  const { history } = setup()
  const base = Date.now() - 3600_000
  const events = Array.from({ length: 57 }, (_, i) => event('p', i, base + Math.floor(i / 10) * 1000)) // ten share each detection time
  for (const [i, e] of events.entries()) await history.record([{ event: e, subscription: 'default', state: i % 3 === 0 ? 'dead' : 'delivered' }], base)
  const seen: string[] = []
  let after: string | undefined
  for (let pages = 0; pages < 20; pages++) {
    const page = await history.page('p', { limit: 7, after })
    seen.push(...page.items.map(r => r.event.event_id as string))
    if (!page.next) break
    after = page.next
  }
  assert.equal(seen.length, 57)
  assert.equal(new Set(seen).size, 57, 'no duplicate')
  const times = seen.map(id => events.find(e => e.event_id === id)!.detection_time)
  assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first')
  const window = await history.page('p', { limit: 100, sinceMs: base + 2000, untilMs: base + 3000 })
  assert.equal(window.items.length, 20, 'since and until are inclusive')
  const dead = await history.page('p', { limit: 100, match: r => r.deliveries.some(d => d.state === 'dead') })
  assert.equal(dead.items.length, 19)
})

test('memory per event: one subscription, one to three attempts', async () => {
  const { history, keys } = setup()
  const now = Date.now()
  const n = 3000
  for (let i = 0; i < n; i++) {
    const e = event('mem', i, now)
    const steps = [history.record([{ event: e }], now)]
    for (let a = 0; a <= i % 3; a++) steps.push(history.record([{ event: e, subscription: 'default', state: a === i % 3 ? 'delivered' : 'scheduled', attempt: attempt(now + a, a === i % 3 ? 200 : 503) }], now))
    await Promise.all(steps)
  }
  const ids = (await redis.zrange(keys.historyBucket('mem'), 0, -1)).map(m => m.slice(14))
  const indexBytes = Number(await redis.memory('USAGE', keys.historyBucket('mem'), 'SAMPLES', 0))
  let eventBytes = 0
  for (const id of ids) eventBytes += Number(await redis.memory('USAGE', keys.historyEvent(id)))
  const perEvent = (indexBytes + eventBytes) / n
  console.log(`history memory: ${Math.round(perEvent)} bytes per event (event string ${Math.round(eventBytes / n)}, index entry ${Math.round(indexBytes / n)}; ${n} events, 1 subscription, 1-3 attempts)`)
  assert.ok(perEvent < 1500, `${perEvent} bytes per event`)
})

test('the recorder writes steps and publishes their activity in one message per flush, and never throws', async () => {
  const { keys, history } = setup()
  const sub = server.client()
  const messages: ActivityEvent[][] = []
  sub.on('message', (_channel, text: string) => messages.push(JSON.parse(text)))
  await sub.subscribe(keys.activityChannel)
  const errors: Array<{ failed: number, dropped: number }> = []
  const recorder = createRecorder({ redis, keys, history, now: Date.now, onError: (_err, counts) => errors.push(counts), maxPending: 3 })
  const now = Date.now()
  const lines = [1, 2, 3, 4].map(i => {
    const e = event('r', i, now)
    return { step: { event: e }, line: { kind: 'detection' as const, at: new Date(now).toISOString(), bucket: 'r', key: e.key, event_id: e.event_id, type: 'created' } }
  })
  for (const { step, line } of lines) recorder.add(step, line)
  await recorder.flush()
  await new Promise(resolve => setTimeout(resolve, 100))
  assert.deepEqual(messages.map(m => m.length), [3], 'one message; the fourth beyond the bound dropped')
  assert.deepEqual(errors, [{ failed: 0, dropped: 1 }])
  assert.ok(await history.get(lines[2]!.step.event.event_id))
  assert.equal(await history.get(lines[3]!.step.event.event_id), undefined)
  await sub.quit()
})

test('an in-flight step followed by its attempt within one flush is not written; a lone one is', async () => {
  const { keys, history } = setup()
  const recorder = createRecorder({ redis, keys, history, now: Date.now, onError: err => { throw err } })
  const now = Date.now()
  const [a, b] = [event('c', 1, now), event('c', 2, now)]
  const line = (e: typeof a, type: string) => ({ kind: 'state' as const, at: new Date(now).toISOString(), bucket: 'c', key: e.key, event_id: e.event_id, type, subscription: 'default' })
  recorder.add({ event: a, subscription: 'default', state: 'in_flight' }, line(a, 'in_flight'))
  recorder.add({ event: b, subscription: 'default', state: 'in_flight' }, line(b, 'in_flight'))
  recorder.add({ event: a, subscription: 'default', state: 'delivered', attempt: attempt(now, 200) }, line(a, 'delivered'))
  await recorder.flush()
  assert.deepEqual((await history.get(a.event_id))!.deliveries.map(d => [d.state, d.attempts.length]), [['delivered', 1]])
  assert.deepEqual((await history.get(b.event_id))!.deliveries.map(d => [d.state, d.attempts.length]), [['in_flight', 0]])
})

test('with Redis gone the recorder neither throws nor waits, and reports the failures at most once per interval', async () => {
  const { keys } = setup()
  const dead = new Client({ port: await freePort(), host: '127.0.0.1', lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null })
  dead.on('error', () => {})
  const reports: Array<{ failed: number, dropped: number }> = []
  const recorder = createRecorder({ redis: dead, keys, history: createHistory(dead, keys, { ttlMs: TTL_MS }), now: () => 0, onError: (_err, counts) => reports.push(counts), errorEveryMs: 50, flushEveryMs: 1 })
  const e = event('down', 1, Date.now())
  const line = { kind: 'detection' as const, at: new Date().toISOString(), bucket: 'down', key: e.key, event_id: e.event_id, type: 'created' }
  for (let i = 0; i < 5; i++) {
    recorder.add({ event: e }, line)
    await recorder.flush()
  }
  assert.deepEqual(reports, [{ failed: 1, dropped: 0 }], 'the first failure is reported, the next ones within the interval are counted')
  await new Promise(resolve => setTimeout(resolve, 150))
  assert.deepEqual(reports, [{ failed: 1, dropped: 0 }, { failed: 9, dropped: 0 }], 'the rest one interval later (a history write and a publish per step)')
  dead.disconnect()
})
