import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { createKeys, createDeliveryQueue, createDeadLetters, deadLetterRecord, type Redis } from '../src/index.ts'

let server: RedisServer
let redis: Redis
before(async () => { server = await startRedis(); redis = server.client() })
after(async () => { await server.stop() })

async function setup (count: number) {
  const prefix = `t:${randomUUID()}`
  const keys = createKeys({ queueName: `${prefix}:queue`, deadLetterName: `${prefix}:dead`, statePrefix: `${prefix}:state:` })
  const queue = createDeliveryQueue(redis, keys)
  const entries = Array.from({ length: count }, (_, i) => JSON.stringify({ event_id: `e${i}`, detection_time: 1795303289.83205, retry_count: 3, request_id: `r${i}` }))
  await redis.rpush(keys.queue, ...entries)
  await queue.claim('c', count)
  for (const [i, entry] of entries.entries()) {
    const record = deadLetterRecord(entry, { reason: 'http 400', attempts: 1, last_status: 400, response_excerpt: 'no' }, new Date(0), `id${i}`)
    await queue.deadLetter('c', entry, JSON.stringify(record))
  }
  return { keys, dead: createDeadLetters(redis, keys) }
}

test('list pages newest first with the total', async () => {
  const { dead } = await setup(5)
  const page = await dead.list(1, 2)
  assert.equal(page.total, 5)
  assert.deepEqual(page.items.map(r => r.id), ['id3', 'id2'])
  assert.equal(page.items[0]?.reason, 'http 400')
  assert.equal(page.items[0]?.last_status, 400)
  assert.deepEqual(page.items[0]?.event?.event_id, 'e3')
  assert.equal(page.items[0]?.dead_at, '1970-01-01T00:00:00.000Z')
})

test('replay puts chosen events back with the delivery history reset, exactly once', async () => {
  const { keys, dead } = await setup(3)
  assert.equal(await dead.replay(['id0', 'id2', 'nope']), 2)
  assert.equal(await dead.replay(['id0']), 0)
  const queued = (await redis.lrange(keys.queue, 0, -1)).map(e => JSON.parse(e))
  assert.deepEqual(queued, [
    { event_id: 'e0', detection_time: 1795303289.83205, retry_count: 0 },
    { event_id: 'e2', detection_time: 1795303289.83205, retry_count: 0 }
  ])
  assert.deepEqual((await dead.list()).items.map(r => r.id), ['id1'])
})

test('replayAll and purge', async () => {
  const { keys, dead } = await setup(4)
  assert.equal(await dead.purge(['id1']), 1)
  assert.equal(await dead.replayAll(), 3)
  assert.equal(await redis.llen(keys.queue), 3)
  assert.equal(await redis.llen(keys.deadLetter), 0)
  const again = await setup(2)
  assert.equal(await again.dead.purge(), 2)
  assert.equal((await again.dead.list()).total, 0)
})

test('a malformed entry is kept raw and replays raw', async () => {
  const record = deadLetterRecord('not json{', { reason: 'malformed', attempts: 0, last_status: null, response_excerpt: null }, new Date(0), 'x')
  assert.equal(record.raw, 'not json{')
  assert.equal(record.event, undefined)
})
