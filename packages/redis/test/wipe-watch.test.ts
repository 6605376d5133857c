import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { startRedis } from '../../../test/support/redis-server.ts'
import { RedisWipeWatch } from '../src/wipe-watch.ts'

const server = await startRedis()
after(() => server.stop())

test('a wipe is told once; a recovery that fails is tried again on the next check; a replica that noticed later agrees', async () => {
  const redis = server.client()
  let wipes = 0
  let attempts = 0
  const watch = new RedisWipeWatch({
    redis,
    key: 'wf:marker',
    intervalMs: 60_000,
    now: () => 1_000,
    onWiped: () => { wipes++ },
    recover: async () => { if (++attempts === 1) throw new Error('seed failed') }
  })
  const other = new RedisWipeWatch({ redis: server.client(), key: 'wf:marker', intervalMs: 60_000, onWiped: () => {} })
  await watch.start()
  await other.start()
  assert.equal(await watch.check(), false)
  await redis.flushall()
  await assert.rejects(watch.check(), /seed failed/)
  assert.equal(await watch.check(), false, 'the marker is back: no second wipe')
  assert.deepEqual({ wipes, attempts, state: watch.state }, { wipes: 1, attempts: 2, state: 'wiped' })
  assert.deepEqual(watch.readinessDetail(), { redis_state: 'wiped', redis_wiped_at: new Date(1_000).toISOString() })
  assert.equal(await other.check(), true, 'the marker another replica wrote again still reads as a wipe here')
  watch.close()
  other.close()
})
