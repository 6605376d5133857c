import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { createDeliveryQueue, createKeys, type Redis } from '@internal/redis'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { createStaleCheck } from '../src/stale-check.ts'

let server: RedisServer
let redis: Redis
before(async () => { server = await startRedis(); redis = server.client() })
after(async () => { await server.stop() })

test('an entry nobody works on is returned to the queue only after two sightings a visibility timeout apart', async () => {
  const prefix = `t:${randomUUID()}`
  const keys = createKeys({ queueName: `${prefix}:q`, deadLetterName: `${prefix}:d`, statePrefix: `${prefix}:s:` })
  const queue = createDeliveryQueue(redis, keys)
  await redis.rpush(keys.queue, 'busy', 'lost', 'lost')
  await queue.claim('me', 3)
  const working = ['busy', 'lost'] // one copy of 'lost' is still being delivered
  const stale = createStaleCheck(queue, 'me', () => working)
  assert.equal(await stale.check(1000, 5000), 0)
  assert.equal(await stale.check(4000, 5000), 0)
  assert.equal(await stale.check(6000, 5000), 1)
  assert.deepEqual(await redis.lrange(keys.queue, 0, -1), ['lost'])
  assert.deepEqual(await redis.lrange(keys.processing('me'), 0, -1), ['busy', 'lost'])
  assert.equal(await stale.check(20_000, 5000), 0)
})
