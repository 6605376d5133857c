import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { createKeys, createDeliveryQueue, type Redis } from '../src/index.ts'

let server: RedisServer
let redis: Redis
before(async () => { server = await startRedis(); redis = server.client() })
after(async () => { await server.stop() })

function fresh () {
  const prefix = `t:${randomUUID()}`
  const keys = createKeys({ queueName: `${prefix}:queue`, deadLetterName: `${prefix}:dead`, statePrefix: `${prefix}:state:` })
  return { keys, queue: createDeliveryQueue(redis, keys) }
}

test('claim moves entries in order into the consumer processing list', async () => {
  const { keys, queue } = fresh()
  await redis.rpush(keys.queue, 'a', 'b', 'c')
  assert.deepEqual(await queue.claim('c1', 2), ['a', 'b'])
  assert.deepEqual(await redis.lrange(keys.processing('c1'), 0, -1), ['a', 'b'])
  assert.deepEqual(await redis.lrange(keys.queue, 0, -1), ['c'])
  assert.deepEqual(await queue.claim('c1', 5), ['c'])
  assert.deepEqual(await queue.claim('c1', 5), [])
})

test('claimBlocking waits for an entry and times out with null', async () => {
  const { keys, queue } = fresh()
  const blocking = server.client()
  assert.equal(await queue.claimBlocking(blocking, 'c1', 0.05), null)
  const waiting = queue.claimBlocking(blocking, 'c1', 2)
  await redis.rpush(keys.queue, 'x')
  assert.equal(await waiting, 'x')
  assert.deepEqual(await redis.lrange(keys.processing('c1'), 0, -1), ['x'])
})

test('ack, retryLater and deadLetter settle only entries that are still ours', async () => {
  const { keys, queue } = fresh()
  await redis.rpush(keys.queue, 'a', 'b', 'c')
  await queue.claim('c1', 3)
  assert.equal(await queue.ack('c1', 'a'), true)
  assert.equal(await queue.ack('c1', 'a'), false)
  assert.equal(await queue.retryLater('c1', 'b', 5000, 'b2'), true)
  assert.deepEqual(await redis.zrange(keys.retry, 0, -1, 'WITHSCORES'), ['b2', '5000'])
  assert.equal(await queue.deadLetter('c1', 'c', '{"id":"1"}'), true)
  assert.deepEqual(await redis.lrange(keys.deadLetter, 0, -1), ['{"id":"1"}'])
  assert.equal(await queue.retryLater('c1', 'c', 1, 'c2'), false)
  assert.equal(await queue.deadLetter('c1', 'b', 'x'), false)
  assert.equal(await redis.zcard(keys.retry), 1)
  assert.equal(await redis.llen(keys.processing('c1')), 0)
})

test('promoteDue moves only due retries to the queue tail', async () => {
  const { keys, queue } = fresh()
  await redis.rpush(keys.queue, 'q')
  await redis.zadd(keys.retry, 100, 'early', 200, 'late')
  assert.equal(await queue.promoteDue(150), 1)
  assert.deepEqual(await redis.lrange(keys.queue, 0, -1), ['q', 'early'])
  assert.equal(await queue.promoteDue(1000), 1)
  assert.equal(await redis.zcard(keys.retry), 0)
})

test('a silent consumer is reaped: its entries go back to the queue head in order', async () => {
  const { keys, queue } = fresh()
  await redis.rpush(keys.queue, 'a', 'b', 'c', 'd')
  assert.equal(await queue.heartbeat('dead', 1000), false)
  assert.equal(await queue.heartbeat('alive', 1000), false)
  await queue.claim('dead', 2)
  await queue.claim('alive', 1)
  assert.equal(await queue.heartbeat('alive', 30_000), true)
  assert.equal(await queue.reapDead(20_000, 30_000), 0) // nobody is older than the timeout yet
  assert.equal(await queue.reapDead(40_000, 30_000), 2)
  assert.deepEqual(await redis.lrange(keys.queue, 0, -1), ['a', 'b', 'd'])
  assert.deepEqual(await redis.zrange(keys.consumers, 0, -1), ['alive'])
  assert.deepEqual(await redis.lrange(keys.processing('alive'), 0, -1), ['c'])
  // the reaped consumer learns it with its next heartbeat, and its late ack does nothing
  assert.equal(await queue.ack('dead', 'a'), false)
  assert.equal(await queue.heartbeat('dead', 41_000), false)
})

test('an unowned processing list is reaped once it stays unowned for a visibility timeout', async () => {
  const { keys, queue } = fresh()
  await redis.rpush(keys.processing('ghost'), 'g')
  assert.equal(await queue.reapDead(1000, 5000), 0)
  assert.equal(await queue.reapDead(3000, 5000), 0)
  assert.equal(await queue.reapDead(6000, 5000), 1)
  assert.deepEqual(await redis.lrange(keys.queue, 0, -1), ['g'])
})

test('release returns a stopping consumer\'s entries at once and depths count every list', async () => {
  const { keys, queue } = fresh()
  await redis.rpush(keys.queue, 'a', 'b', 'c')
  await queue.heartbeat('c1', 1)
  await queue.claim('c1', 2)
  await redis.zadd(keys.retry, 1, 'r')
  await redis.lpush(keys.deadLetter, 'd')
  assert.deepEqual(await queue.depths(), { queue: 1, processing: 2, retry: 1, deadLetter: 1 })
  assert.equal(await queue.release('c1'), 2)
  assert.deepEqual(await redis.lrange(keys.queue, 0, -1), ['a', 'b', 'c'])
  assert.equal(await redis.zcard(keys.consumers), 0)
})

test('ackMany settles several entries in one call and says which were ours', async () => {
  const { keys, queue } = fresh()
  await redis.rpush(keys.queue, 'a', 'b', 'a')
  await queue.claim('c1', 3)
  assert.deepEqual(await queue.ackMany('c1', ['a', 'x', 'a', 'a']), [true, false, true, false])
  assert.deepEqual(await redis.lrange(keys.processing('c1'), 0, -1), ['b'])
  assert.deepEqual(await queue.ackMany('c1', []), [])
})

test('orphan discovery escapes glob characters in the queue name', async () => {
  const prefix = `t:${randomUUID()}`
  const keys = createKeys({ queueName: `${prefix}:q[1]*`, deadLetterName: `${prefix}:dead`, statePrefix: `${prefix}:state:` })
  const queue = createDeliveryQueue(redis, keys)
  await redis.rpush(keys.processing('ghost'), 'g')
  await redis.rpush(`${prefix}:q1x:processing:other`, 'not ours')
  await queue.reapDead(0, 10)
  assert.equal(await queue.reapDead(20, 10), 1)
  assert.deepEqual(await redis.lrange(keys.queue, 0, -1), ['g'])
})
