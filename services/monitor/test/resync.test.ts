import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createKeys, WriteDeadlineError } from '@internal/redis'
import type { Redis } from 'ioredis'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { createResync } from '../src/resync.ts'

let server: RedisServer
let redis: Redis
before(async () => { server = await startRedis(); redis = server.client() })
after(async () => { await server.stop() })

const keys = createKeys({ queueName: 'q', deadLetterName: 'd', statePrefix: 's:' })

async function seedState (bucket: string): Promise<void> {
  await redis.multi()
    .zadd(keys.stateIndex(bucket), 0, '', 0, 'm')
    .hset(keys.stateChunkPrefix(bucket), 'a', 'fp-a')
    .hset(keys.stateChunkPrefix(bucket) + 'm', 'm', 'fp-m')
    .hset(keys.stateMeta(bucket), 'objects', 2)
    .zadd(keys.schedule, 9e12, bucket)
    .exec()
}

test('forget drops every chunk and starts a new id epoch; each forget another; the bucket is due now and the scheduler woken', async () => {
  await seedState('b1')
  let woken = 0
  const resync = createResync({ redis, keys, now: () => 1234, wake: () => woken++ })
  await resync.resync('b1', { forget: false })
  assert.equal(await redis.zcard(keys.stateIndex('b1')), 2, 'without forget the state stays')
  assert.equal(await redis.hget(keys.stateMeta('b1'), 'id_epoch'), null)
  await resync.resync('b1', { forget: true })
  assert.deepEqual(await redis.keys('*state*'), [keys.stateMeta('b1')])
  const first = await redis.hget(keys.stateMeta('b1'), 'id_epoch')
  assert.match(first ?? '', /^[0-9a-f-]{36}$/)
  await resync.resync('b1', { forget: true })
  assert.notEqual(await redis.hget(keys.stateMeta('b1'), 'id_epoch'), first)
  assert.equal(Number(await redis.zscore(keys.schedule, 'b1')), 1234)
  assert.equal(woken, 3)
})

test('past its deadline (Redis clock) a resync changes nothing and fails as Redis unavailable', async () => {
  await seedState('b2')
  let woken = 0
  const resync = createResync({ redis, keys, now: () => 1234, deadline: () => Date.now() - 60_000, wake: () => woken++ })
  await assert.rejects(resync.resync('b2', { forget: true }), WriteDeadlineError)
  assert.equal(await redis.zcard(keys.stateIndex('b2')), 2)
  assert.equal(await redis.hget(keys.stateMeta('b2'), 'objects'), '2')
  assert.equal(Number(await redis.zscore(keys.schedule, 'b2')), 9e12)
  assert.equal(woken, 0)
  const inTime = createResync({ redis, keys, now: () => 1234, deadline: () => Date.now() + 60_000, wake: () => woken++ })
  await inTime.resync('b2', { forget: false })
  assert.equal(Number(await redis.zscore(keys.schedule, 'b2')), 1234)
})
