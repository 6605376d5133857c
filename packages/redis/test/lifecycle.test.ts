import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { createKeys, createDeliveryQueue, createLifecycle, type ParkOptions, type Redis } from '../src/index.ts'

let server: RedisServer
let redis: Redis
before(async () => { server = await startRedis(); redis = server.client() })
after(async () => { await server.stop() })

const T0 = 1_800_000_000_000

async function setup (count: number) {
  const prefix = `t:${randomUUID()}`
  const keys = createKeys({ queueName: `${prefix}:queue`, deadLetterName: `${prefix}:dead`, statePrefix: `${prefix}:state:` })
  const entries = Array.from({ length: count }, (_, i) => JSON.stringify({ event_id: `e${i}`, bucket: 'b1', subscription: 's1' }))
  await redis.rpush(keys.queue, ...entries)
  await createDeliveryQueue(redis, keys).claim('c', count)
  const opts = (o: Partial<ParkOptions> = {}): ParkOptions => ({ bucket: 'b1', subscription: 's1', nowMs: T0, maxParked: 100, configDisabled: false, graceMs: 10_000, ...o })
  return { keys, entries, lifecycle: createLifecycle(redis, keys), opts }
}

test('park: an active subscription refuses (the entry stays ours); a disable reason or a disabled config parks; a lost entry changes nothing', async () => {
  const { keys, entries, lifecycle, opts } = await setup(4)
  assert.deepEqual(await lifecycle.park('c', entries[0]!, entries[0]!, opts()), { kind: 'active' })
  assert.equal(await redis.llen(keys.processing('c')), 4)
  assert.deepEqual(await lifecycle.park('c', 'not ours', 'not ours', opts({ disable: 'gone' })), { kind: 'lost' })
  assert.equal(await redis.exists(keys.subscriptionState('b1', 's1')), 0)
  assert.deepEqual(await lifecycle.park('c', entries[0]!, entries[0]!, opts({ configDisabled: true })), { kind: 'parked', overflowed: 0 })
  assert.deepEqual(await lifecycle.read('b1', 's1'), { state: 'disabled', disabled_reason: 'operator', failing_since: null, parked: 1 })
  // Once disabled, the reason stays that of the first disable.
  assert.deepEqual(await lifecycle.park('c', entries[1]!, entries[1]!, opts({ disable: 'gone' })), { kind: 'parked', overflowed: 0 })
  assert.equal((await lifecycle.read('b1', 's1')).disabled_reason, 'operator')
  assert.equal(await redis.llen(keys.processing('c')), 2)
})

test('enable: state active, parked entries at the queue head oldest first; a lagging config view may not park again within the grace', async () => {
  const { keys, entries, lifecycle, opts } = await setup(3)
  await lifecycle.park('c', entries[0]!, 'p0', opts({ disable: 'gone' }))
  await lifecycle.park('c', entries[1]!, 'p1', opts())
  await redis.rpush(keys.queue, 'newer')
  assert.equal(await lifecycle.enable('b1', 's1', T0 + 1000), 2)
  assert.deepEqual(await redis.lrange(keys.queue, 0, -1), ['p0', 'p1', 'newer'])
  assert.deepEqual(await lifecycle.read('b1', 's1'), { state: 'active', disabled_reason: null, failing_since: null, parked: 0 })
  assert.deepEqual(await lifecycle.park('c', entries[2]!, 'p2', opts({ configDisabled: true, nowMs: T0 + 5000 })), { kind: 'active' })
  assert.deepEqual(await lifecycle.park('c', entries[2]!, 'p2', opts({ configDisabled: true, nowMs: T0 + 11_000 })), { kind: 'parked', overflowed: 0 })
  assert.equal((await lifecycle.read('b1', 's1')).disabled_reason, 'operator')
})

test('retryFailing schedules the retry and keeps the first failure time until a success clears it', async () => {
  const { keys, entries, lifecycle } = await setup(3)
  const at = (nowMs: number) => ({ bucket: 'b1', subscription: 's1', nowMs })
  assert.equal(await lifecycle.retryFailing('c', entries[0]!, T0 + 5000, 'u0', at(T0)), T0)
  assert.equal(await lifecycle.retryFailing('c', entries[1]!, T0 + 9000, 'u1', at(T0 + 4000)), T0)
  assert.equal(await lifecycle.retryFailing('c', 'not ours', T0, 'x', at(T0 + 5000)), null)
  assert.deepEqual(await redis.zrange(keys.retry, 0, -1, 'WITHSCORES'), ['u0', String(T0 + 5000), 'u1', String(T0 + 9000)])
  await lifecycle.succeeded('b1', 's1')
  assert.equal(await lifecycle.retryFailing('c', entries[2]!, T0 + 9000, 'u2', at(T0 + 8000)), T0 + 8000)
})
