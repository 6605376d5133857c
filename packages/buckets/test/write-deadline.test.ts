import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { WriteDeadlineError, createDeadLetters, createKeys, createWriteDeadline, type Redis } from '@internal/redis'
import { createBucketStore } from '../src/index.ts'

// The write scripts the API calls take a deadline in the Redis clock; past it they change nothing.

let server: RedisServer
let redis: Redis
before(async () => { server = await startRedis(); redis = server.client() })
after(async () => { await server.stop() })

const freshKeys = () => {
  const prefix = `t:${randomUUID()}`
  return createKeys({ queueName: `${prefix}:queue`, deadLetterName: `${prefix}:dead`, statePrefix: `${prefix}:state:` })
}
const passed = () => 1 // 1 ms after the epoch: long gone in any clock

test('the deadline is the caller\'s timeout in the Redis clock, measured with TIME', async () => {
  await redis.ping()
  const skewedClock = () => Date.now() - 3_600_000 // this host an hour behind Redis
  const deadline = createWriteDeadline(redis, 2000, skewedClock)
  await new Promise(resolve => setTimeout(resolve, 50)) // the TIME measurement is one round trip
  const [seconds, micros] = await redis.time()
  const redisNow = Number(seconds) * 1000 + Number(micros) / 1000
  const ahead = deadline() - redisNow
  // The offset to Redis's clock is measured over one round trip, so it is known to within that
  // round trip (a few ms on loopback); an hour of host skew would put it 3,600,000 ms off.
  assert.ok(ahead > 1900 && ahead <= 2050, `deadline ${ahead} ms ahead of Redis, whatever this host's clock says`)
})

test('bucket writes past their deadline throw WriteDeadlineError and change nothing', async () => {
  const keys = freshKeys()
  const open = createBucketStore(redis, keys)
  const late = createBucketStore(redis, keys, { deadline: passed })
  const bucket = { name: 'late-bucket', endpoint: 'h.example', status: 'active' }
  await assert.rejects(late.save(bucket, 'put'), WriteDeadlineError)
  assert.equal(await open.get('late-bucket'), undefined)
  assert.equal(await open.version(), 0)
  assert.ok((await open.save(bucket, 'put')).ok)
  await assert.rejects(late.setNotifications('late-bucket', false), WriteDeadlineError)
  await assert.rejects(late.remove('late-bucket'), WriteDeadlineError)
  assert.equal((await open.get('late-bucket'))?.notifications_enabled, true)
  assert.equal(await open.version(), 1)
  const inTime = createBucketStore(redis, keys, { deadline: () => Date.now() + 60_000 })
  assert.equal(await inTime.setNotifications('late-bucket', false), true)
})

test('dead-letter replay and purge past their deadline change nothing', async () => {
  const keys = freshKeys()
  await redis.lpush(keys.deadLetter, JSON.stringify({ id: 'd1', reason: 'http 400', attempts: 1, last_status: 400, response_excerpt: null, dead_at: '', event: { event_id: 'e1' } }))
  const late = createDeadLetters(redis, keys, { deadline: passed })
  await assert.rejects(late.replay(['d1']), WriteDeadlineError)
  await assert.rejects(late.purge(['d1']), WriteDeadlineError)
  await assert.rejects(late.purge(), WriteDeadlineError)
  assert.equal(await redis.llen(keys.deadLetter), 1)
  assert.equal(await redis.llen(keys.queue), 0)
  assert.equal(await createDeadLetters(redis, keys).purge(), 1)
})
