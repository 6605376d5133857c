import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRedis, watchMasterChanges, type MasterChange } from '../src/index.ts'
import { startSentinelTopology } from '../../../test/support/sentinel.ts'
import { waitFor } from '../../../test/support/ports.ts'

test('a Sentinel failover is reported once, with the old and the new master', async (t) => {
  const topology = await startSentinelTopology()
  t.after(() => topology.stop())
  const redis = createRedis({ sentinel_host: topology.sentinelHosts, sentinel_port: 26379, master_name: topology.masterName, password: null, db: 0, host: '127.0.0.1', port: 6379 })
  redis.on('error', () => {}) // the killed master's refusals until Sentinel switches
  t.after(() => redis.disconnect())
  const changes: MasterChange[] = []
  const stop = watchMasterChanges(redis, change => changes.push(change))
  t.after(stop)
  await redis.set('k', 'before')

  await topology.killMaster()
  await waitFor(() => changes.length > 0, { timeoutMs: 15_000, what: 'the master change' })
  await redis.set('k', 'after')
  assert.equal(changes.length, 1)
  assert.notEqual(changes[0]!.from, changes[0]!.to)
  assert.match(changes[0]!.to, /^127\.0\.0\.1:\d+$/)
})
