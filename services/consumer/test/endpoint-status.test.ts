import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { createKeys } from '@internal/redis'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { createGoneMarker } from '../src/endpoint-status.ts'
import type { Target } from '../src/target.ts'

let server: RedisServer
let redis: Redis
before(async () => { server = await startRedis(); redis = server.client() })
after(async () => { await server.stop() })

test('a 410 mark is cleared by a later delivery on another replica or after a restart, not only by the replica that wrote it', async () => {
  const p = `t:${randomUUID()}`
  const keys = createKeys({ queueName: `${p}:queue`, deadLetterName: `${p}:dead`, statePrefix: `${p}:state:` })
  await redis.del(keys.endpointStatus)
  const clock = { t: 1_000_000 }
  const url = new URL('http://127.0.0.1:9/hook?k=v')
  const target: Pick<Target, 'url' | 'rawUrl'> = { url, rawUrl: url.href }
  const replicaA = createGoneMarker(redis, keys, () => clock.t)
  const replicaB = createGoneMarker(redis, keys, () => clock.t)

  await replicaB(target, 'b1', false) // B delivers fine
  await replicaA(target, 'b1', true) // then A gets a 410
  assert.equal(await redis.hlen(keys.endpointStatus), 1)
  clock.t += 10_000
  await replicaB(target, 'b1', false) // the receiver is back: B delivers
  assert.equal(await redis.hlen(keys.endpointStatus), 0, 'cleared by the replica that delivered')

  await replicaA(target, 'b1', true)
  const restarted = createGoneMarker(redis, keys, () => clock.t)
  await restarted(target, 'b1', false)
  assert.equal(await redis.hlen(keys.endpointStatus), 0, 'cleared after a restart')

  // Deliveries in between cost no round trip: the hash is not touched again right away.
  await redis.hset(keys.endpointStatus, target.rawUrl, JSON.stringify({ gone: true }))
  await restarted(target, 'b1', false)
  assert.equal(await redis.hlen(keys.endpointStatus), 1)
})
