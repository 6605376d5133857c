// GET /api/events/{id}, GET /api/buckets/{name}/events and GET /api/activity against a real
// redis-server, with the history written by the same store the consumer and the scanner use.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { randomUUID } from 'node:crypto'
import { createHistory, createRecorder, type ActivityEvent, type History, type Recorder } from '@internal/redis'
import { serverSentEvents } from '../../../packages/cli/src/commands/events.ts'
import { waitFor } from '../../../test/support/ports.ts'
import { startApi, READER, type Harness } from './api-harness.ts'

const DAY_MS = 24 * 3600 * 1000
let h: Harness
let history: History
let recorder: Recorder
let base: string
let read: string
const logs: string[] = []

before(async () => {
  h = await startApi({
    yaml: [
      'webhook:', '  allowed_networks: ["127.0.0.0/8"]',
      'api:', '  activity_heartbeat_ms: 100', '  activity_max_buffer_bytes: 65536',
      '  clients:', `    - client_id: ${READER.client_id}`, `      client_secret: ${READER.client_secret}`
    ].join('\n'),
    logDestination: { write (l: string) { logs.push(l) } }
  })
  history = createHistory(h.redis, h.keys, { ttlMs: h.config.consumer.history_ttl * 1000 })
  for (const bucket of ['shots', 'paged']) await h.redis.set(h.keys.bucketConfig(bucket), '{}') // history is kept for configured buckets
  recorder = createRecorder({ redis: h.redis, keys: h.keys, history, now: Date.now, onError: err => { throw err } })
  base = await h.app.listen({ host: '127.0.0.1', port: 0 })
  read = await h.token('read')
})
after(async () => { await h.close() })

const get = (url: string, token = read) => h.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })

function event (bucket: string, i: number, detectedMs: number, type = 'created') {
  return { event_id: randomUUID().replaceAll('-', ''), bucket, key: `k/${String(i).padStart(4, '0')}.jpg`, event_type: type, detection_time: detectedMs / 1000, etag: 'e', size: 1 }
}

test('an event shows every attempt per subscription, times as ISO 8601; unknown and expired ids are 404 EVENT_NOT_FOUND', async () => {
  const now = Date.now()
  const e = event('shots', 1, now)
  await history.record([{ event: e }], now)
  await history.record([{ event: e, subscription: 'default', state: 'scheduled', attempt: { at: now, status: 503, duration_ms: 4, error: null, excerpt: 'busy' }, next_at: now + 5000 }], now)
  await history.record([{ event: e, subscription: 'default', state: 'scheduled', attempt: { at: now + 5000, status: null, duration_ms: 2000, error: 'WEBHOOK_TIMEOUT: no answer in 2000 ms', excerpt: null }, next_at: now + 9000 }], now)
  await history.record([{ event: e, subscription: 'default', state: 'delivered', attempt: { at: now + 9000, status: 200, duration_ms: 3, error: null, excerpt: null } }], now)
  const res = await get(`/api/events/${e.event_id}`)
  assert.equal(res.statusCode, 200, res.body)
  const body = res.json()
  assert.deepEqual(body.event, e)
  assert.equal(body.deliveries.length, 1)
  const [d] = body.deliveries
  assert.equal(d.subscription, 'default')
  assert.equal(d.state, 'delivered')
  assert.deepEqual(d.attempts.map((a: any) => [a.at, a.status, a.duration_ms, a.error]), [
    [new Date(now).toISOString(), 503, 4, null],
    [new Date(now + 5000).toISOString(), null, 2000, 'WEBHOOK_TIMEOUT: no answer in 2000 ms'],
    [new Date(now + 9000).toISOString(), 200, 3, null]
  ])
  const unknown = await get('/api/events/nope')
  assert.equal(unknown.statusCode, 404)
  assert.equal(unknown.json().code, 'EVENT_NOT_FOUND')
  const old = event('shots', 2, now - 8 * DAY_MS)
  await history.record([{ event: old, subscription: 'default', state: 'delivered' }], now - 8 * DAY_MS) // recorded by a clock 8 days back
  assert.equal((await get(`/api/events/${old.event_id}`)).statusCode, 404, 'expired after consumer.history_ttl (7 days)')
  assert.equal((await h.app.inject({ method: 'GET', url: `/api/events/${e.event_id}` })).statusCode, 401)
})

test('a bucket\'s events page newest first: several pages, no duplicate, no gap; since/until/type/state filter; bad input names the field', async () => {
  const t0 = Date.parse('2026-11-30T10:00:00Z')
  const events = Array.from({ length: 45 }, (_, i) => event('paged', i, t0 + Math.floor(i / 4) * 1000, i % 5 === 0 ? 'deleted' : 'created'))
  for (const [i, e] of events.entries()) await history.record([{ event: e, subscription: 'default', state: i % 3 === 0 ? 'dead' : 'delivered' }], Date.now())
  const ids: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res = await get(`/api/buckets/paged/events?limit=10${cursor ? `&cursor=${cursor}` : ''}`)
    assert.equal(res.statusCode, 200, res.body)
    ids.push(...res.json().events.map((x: any) => x.event.event_id))
    cursor = res.json().next_cursor
    pages++
  } while (cursor !== null && pages < 20)
  assert.ok(pages >= 5, `${pages} pages`)
  assert.equal(ids.length, 45)
  assert.equal(new Set(ids).size, 45)
  const order = ids.map(id => events.findIndex(e => e.event_id === id))
  assert.deepEqual(order.map(i => events[i]!.detection_time), order.map(i => events[i]!.detection_time).sort((a, b) => b - a))

  const sinceIso = new Date(t0 + 2000).toISOString()
  const window = await get(`/api/buckets/paged/events?since=${sinceIso}&until=${(t0 + 4000) / 1000}`)
  assert.deepEqual(window.json().events.map((x: any) => x.detected_at).sort(), events.slice(8, 20).map(e => new Date(e.detection_time * 1000).toISOString()).sort())
  const deleted = await get('/api/buckets/paged/events?type=deleted&state=dead&limit=500')
  assert.deepEqual(new Set(deleted.json().events.map((x: any) => x.event.event_id)), new Set(events.filter((_e, i) => i % 15 === 0).map(e => e.event_id)))
  assert.deepEqual(deleted.json().events[0].deliveries, [{ subscription: 'default', state: 'dead', attempt_count: 0, last_status: null }])

  for (const [query, field] of [['since=yesterday', 'since'], ['state=lost', 'state'], ['type=moved', 'type'], ['limit=0', 'limit'], ['cursor=abc', 'cursor'], ['colour=red', 'colour']]) {
    const bad = await get(`/api/buckets/paged/events?${query}`)
    assert.equal(bad.statusCode, 400, query)
    assert.equal(bad.json().field, field, query)
  }
})

async function openStream (query = '', token = read) {
  const controller = new AbortController()
  const res = await fetch(`${base}/api/activity${query}`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal })
  const events: Array<{ type: string, data: Record<string, unknown> }> = []
  let raw = ''
  const done = (async () => {
    const [a, b] = res.body!.tee()
    void (async () => { for await (const chunk of b as unknown as AsyncIterable<Uint8Array>) raw += Buffer.from(chunk).toString() })().catch(() => {})
    for await (const e of serverSentEvents(a)) events.push(e)
  })().catch(() => {})
  return { res, events, raw: () => raw, close: async () => { controller.abort(); await done } }
}

const line = (kind: ActivityEvent['kind'], bucket: string, subscription?: string): ActivityEvent =>
  ({ kind, at: new Date().toISOString(), bucket, key: 'a.jpg', event_id: 'e1', type: kind === 'detection' ? 'created' : 'delivered', ...(subscription && { subscription, status: 200, latency_ms: 5 }) })

test('the activity stream needs a token, filters by bucket and subscription, and sends heartbeats', async () => {
  assert.equal((await fetch(`${base}/api/activity`)).status, 401)
  assert.equal((await fetch(`${base}/api/activity?bucket=`, { headers: { authorization: `Bearer ${read}` } })).status, 400)
  const all = await openStream()
  const photos = await openStream('?bucket=photos&subscription=thumbs')
  assert.equal(all.res.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  for (const l of [line('detection', 'photos'), line('attempt', 'photos', 'thumbs'), line('attempt', 'photos', 'archive'), line('attempt', 'docs', 'thumbs')]) recorder.add(undefined, l)
  await waitFor(() => all.events.length === 4 && photos.events.length === 1, { what: 'the events' })
  assert.deepEqual(all.events.map(e => [e.type, e.data.bucket, e.data.subscription]), [['detection', 'photos', undefined], ['attempt', 'photos', 'thumbs'], ['attempt', 'photos', 'archive'], ['attempt', 'docs', 'thumbs']])
  assert.deepEqual(photos.events.map(e => [e.type, e.data.bucket, e.data.subscription, e.data.status]), [['attempt', 'photos', 'thumbs', 200]])
  await waitFor(() => all.raw().includes(': heartbeat\n\n'), { what: 'a heartbeat' })
  await all.close()
  await photos.close()
})

test('a client that never reads is dropped once its unread bytes pass the bound; the others go on', async () => {
  const reading = await openStream()
  // A raw connection that sends the request and then never reads a byte.
  const socket = connect({ host: '127.0.0.1', port: Number(new URL(base).port) })
  socket.pause()
  socket.on('error', () => {})
  const dropped = () => logs.some(l => l.includes('activity client dropped: not reading'))
  socket.write(`GET /api/activity HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${read}\r\n\r\n`)
  await new Promise(resolve => setTimeout(resolve, 200))
  const padding = 'x'.repeat(2000)
  let sent = 0
  await waitFor(async () => {
    for (let i = 0; i < 10; i++) recorder.add(undefined, { ...line('attempt', 'bulk', 's'), error: padding })
    sent += 10
    await recorder.flush()
    return dropped()
  }, { timeoutMs: 20_000, everyMs: 10, what: 'the stalled client dropped' })
  await waitFor(() => reading.events.length === sent, { what: 'every event at the reading client' }).catch(err => {
    throw new Error(`${err.message}: ${reading.events.length} of ${sent}; ${logs.filter(l => l.includes('dropped')).length} dropped`)
  })
  await reading.close()
  socket.destroy()
})
