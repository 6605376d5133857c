// POST /api/buckets/{name}/replay against a real redis-server holding chunked state written
// by the scanner's own commit script.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { eventId } from '@internal/events'
import { startApi, acceptKey, type Harness } from './api-harness.ts'
import { monitorScripts } from '../src/scripts.ts'
import { CHUNK_MAX_ENTRIES } from '../src/chunk-state.ts'
import { encodeFingerprint } from '../src/fingerprint.ts'
import { REPLAY_BATCH } from '../src/replay.ts'

let h: Harness
let auth: Record<string, string>
const BUCKET = 'replayed'
const T0 = Date.parse('2026-11-01T00:00:00Z')
/** 10,000 objects (over 64 chunks, so the state is read in several pages): a/ and b/, one a minute from T0, every tenth a .jpg. */
const OBJECTS = Array.from({ length: 10_000 }, (_, i) => ({
  key: `${i % 2 === 0 ? 'a' : 'b'}/${String(i).padStart(5, '0')}${i % 10 < 2 ? '.jpg' : '.txt'}`,
  etag: i.toString(16).padStart(32, '0'),
  size: i,
  lastModifiedMs: T0 + i * 60_000
}))

before(async () => {
  h = await startApi({ checkCredentials: acceptKey('AK') })
  h.clock.now = T0 + 30 * 86_400_000 // every object older than a day: announced as detected
  auth = { authorization: `Bearer ${await h.token()}` }
  const add = await call('POST', '/api/buckets/add', { name: BUCKET, access_key: 'AK', secret_key: 'SK', endpoint: 'http://127.0.0.1:9', webhook_url: 'http://127.0.0.1:9/hook' })
  assert.equal(add.statusCode, 201, add.body)
  const sub = await call('POST', `/api/buckets/${BUCKET}/subscriptions`, { id: 'thumbs', webhook_url: 'http://127.0.0.1:9/thumbs', suffix: '.jpg' })
  assert.equal(sub.statusCode, 201, sub.body)
  const { commit } = monitorScripts(h.redis)
  const keys = [h.keys.stateIndex(BUCKET), h.keys.stateMeta(BUCKET), h.keys.queue, h.keys.bucketConfig(BUCKET), h.keys.notificationsDisabled(BUCKET)]
  for (let i = 0; i < OBJECTS.length; i += 500) {
    const quads = OBJECTS.slice(i, i + 500).flatMap(o => [o.key, '', encodeFingerprint(o), ''])
    await commit(keys, 'baseline', h.keys.stateChunkPrefix(BUCKET), String(CHUNK_MAX_ENTRIES), ...quads)
  }
  assert.ok(await h.redis.zcard(h.keys.stateIndex(BUCKET)) > 64, 'more chunks than one read takes')
})
after(async () => { await h.close() })

const call = (method: 'GET' | 'POST', url: string, payload?: unknown, headers = auth) =>
  h.app.inject({ method, url, headers, ...(payload !== undefined && { payload: payload as object }) })

/** Every state key of the bucket with its whole content and TTL. */
async function stateDump (): Promise<string> {
  const names = await h.redis.keys(`*${BUCKET}*`)
  const dump: unknown[] = []
  for (const name of names.filter(n => n.includes('state')).sort()) {
    const type = await h.redis.type(name)
    const value = type === 'hash' ? await h.redis.hgetall(name) : type === 'zset' ? await h.redis.zrange(name, 0, -1) : await h.redis.get(name)
    dump.push(name, value, await h.redis.ttl(name))
  }
  return JSON.stringify(dump)
}

async function takeQueue (): Promise<Array<Record<string, any>>> {
  const raw = await h.redis.lrange(h.keys.queue, 0, -1)
  await h.redis.del(h.keys.queue)
  return raw.map(r => JSON.parse(r))
}

test('a time window and a prefix: exactly the matching objects, in key order, new ids, replay: true, untagged; the state untouched', async () => {
  const before = await stateDump()
  const since = new Date(T0 + 1000 * 60_000).toISOString() // objects 1000..
  const until = (T0 + 3999 * 60_000) / 1000 // ..3999, as epoch seconds
  const res = await call('POST', `/api/buckets/${BUCKET}/replay`, { since, until, prefix: 'b/' })
  assert.equal(res.statusCode, 202, res.body)
  const expected = OBJECTS.filter((o, i) => i >= 1000 && i <= 3999 && o.key.startsWith('b/'))
  assert.deepEqual(res.json(), { count: expected.length })
  assert.ok(expected.length > REPLAY_BATCH, 'several push batches')
  const queued = await takeQueue()
  assert.deepEqual(queued.map(e => e.key), expected.map(o => o.key))
  for (const [i, e] of queued.entries()) {
    const o = expected[i]!
    assert.equal(e.replay, true)
    assert.equal(e.subscription, undefined)
    assert.equal(e.event_type, 'detected')
    assert.equal(e.etag, o.etag)
    assert.equal(e.size, o.size)
    assert.equal(e.last_modified, o.lastModifiedMs / 1000)
    assert.notEqual(e.event_id, eventId({ bucket: BUCKET, key: o.key, etag: o.etag, last_modified: o.lastModifiedMs / 1000, event_type: 'detected' }), 'not the id the scan gave')
  }
  assert.equal(new Set(queued.map(e => e.event_id)).size, queued.length)
  assert.equal(await stateDump(), before, 'state, its counters and TTLs unchanged')

  const again = await call('POST', `/api/buckets/${BUCKET}/replay`, { since, until, prefix: 'b/' })
  const second = await takeQueue()
  assert.equal(again.json().count, expected.length)
  assert.ok(second.every((e, i) => e.event_id !== queued[i]!.event_id), 'each replay has ids of its own')
})

test('a chosen subscription: tagged with it, only what its filters select; no body replays everything', async () => {
  const res = await call('POST', `/api/buckets/${BUCKET}/replay`, { subscription: 'thumbs', prefix: 'a/0' })
  assert.equal(res.statusCode, 202, res.body)
  const expected = OBJECTS.filter(o => o.key.startsWith('a/0') && o.key.endsWith('.jpg')).map(o => o.key)
  assert.equal(res.json().count, expected.length)
  const queued = await takeQueue()
  assert.deepEqual(queued.map(e => e.key), expected)
  assert.ok(queued.every(e => e.subscription === 'thumbs'))

  const all = await h.app.inject({ method: 'POST', url: `/api/buckets/${BUCKET}/replay`, headers: auth })
  assert.equal(all.statusCode, 202, all.body)
  assert.equal(all.json().count, OBJECTS.length)
  assert.equal((await takeQueue()).length, OBJECTS.length)
  const epochs = await call('POST', `/api/buckets/${BUCKET}/replay`, { since: 0, until: '2026-11-01', subscription: 'default' })
  assert.deepEqual(epochs.json(), { count: 1 }, 'a date is its midnight UTC; epoch 0 the start')
  assert.equal((await takeQueue())[0]!.subscription, 'default')
})

test('bad input: 400 naming the field and the reason; unknown bucket or subscription 404; state not yet in chunks 409; read scope 403', async () => {
  const url = `/api/buckets/${BUCKET}/replay`
  const cases: Array<[unknown, string, RegExp]> = [
    [{ since: '2026-11-02T00:00:00Z', until: '2026-11-01T00:00:00Z' }, 'since', /after until/],
    [{ since: 'yesterday' }, 'since', /ISO 8601/],
    [{ until: -5 }, 'until', /0 or more/],
    [{ until: '2026-11-01T00:00:00' }, 'until', /ISO 8601/],
    [{ prefix: '' }, 'prefix', /.+/],
    [{ subscription: 'Not An Id' }, 'subscription', /a-z/],
    [{ forget: true }, 'forget', /not a field/]
  ]
  for (const [body, field, reason] of cases) {
    const res = await call('POST', url, body)
    assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`)
    assert.equal(res.json().field, field, res.body)
    assert.match(res.json().reason, reason, res.body)
  }
  const unknownSub = await call('POST', url, { subscription: 'nobody' })
  assert.equal(unknownSub.statusCode, 404)
  assert.deepEqual([unknownSub.json().code, unknownSub.json().field], ['SUBSCRIPTION_NOT_FOUND', 'subscription'])
  assert.equal((await call('POST', '/api/buckets/nobody-here/replay', {})).statusCode, 404)
  await h.redis.hset(h.keys.objectState(BUCKET), 'old/key', 'fp')
  const unmigrated = await call('POST', url, {})
  await h.redis.del(h.keys.objectState(BUCKET))
  assert.deepEqual([unmigrated.statusCode, unmigrated.json().code], [409, 'STATE_NOT_MIGRATED'])
  assert.equal((await call('POST', url, {}, { authorization: `Bearer ${await h.token('read')}` })).statusCode, 403)
  assert.equal(await h.redis.llen(h.keys.queue), 0, 'nothing queued by a refused request')
})
