import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { createDeliveryQueue, createKeys } from '@internal/redis'
import { createLogger } from '@internal/telemetry'
import { startRedis } from '../../../test/support/redis-server.ts'
import { waitFor } from '../../../test/support/ports.ts'
import { startWorker, type Worker } from '../src/worker.ts'

test('a first heartbeat that fails (Redis paused at start) neither rejects unhandled nor leaves the worker idle', async (t) => {
  const server = await startRedis()
  const admin = server.client()
  const redis = new Redis({ port: server.port, host: '127.0.0.1', commandTimeout: 200 })
  const blocking = new Redis({ port: server.port, host: '127.0.0.1', maxRetriesPerRequest: null })
  for (const c of [redis, blocking]) c.on('error', () => {})
  const unhandled: unknown[] = []
  const onUnhandled = (err: unknown) => { unhandled.push(err) }
  process.on('unhandledRejection', onUnhandled)
  const running: { worker?: Worker } = {}
  // One hook, in order: the worker, its connections, then the server.
  t.after(async () => {
    await running.worker?.close(1000)
    await redis.quit().catch(() => {})
    blocking.disconnect()
    await server.stop()
    process.off('unhandledRejection', onUnhandled)
  })
  await Promise.all([redis.ping(), blocking.ping()])

  const p = `t:${randomUUID()}`
  const keys = createKeys({ queueName: `${p}:queue`, deadLetterName: `${p}:dead`, statePrefix: `${p}:state:` })
  const queue = createDeliveryQueue(redis, keys)
  await admin.client('PAUSE', 800, 'WRITE') // scripts wait: the first heartbeat times out
  const handled: string[] = []
  running.worker = startWorker({
    queue,
    blocking,
    consumerId: 'c1',
    threads: 2,
    batchSize: 10,
    pollSec: 0.2,
    visibilityMs: 5000,
    heartbeatMs: 200,
    log: createLogger({ service: 'test', level: 'silent' }),
    handle: async entry => { handled.push(entry); await queue.ack('c1', entry) }
  })
  await new Promise(resolve => setTimeout(resolve, 900))
  await admin.rpush(keys.queue, 'e1')
  await waitFor(() => handled.length === 1, { what: 'the entry claimed once Redis answers', timeoutMs: 5000 })
  assert.deepEqual(handled, ['e1'])
  assert.deepEqual(unhandled, [])
  await waitFor(async () => await admin.zscore(keys.consumers, 'c1') !== null, { what: 'registered by a later heartbeat' })
})
