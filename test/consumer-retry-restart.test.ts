import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { createBucketStore } from '@internal/buckets'
import { createKeys } from '@internal/redis'
import { startRedis, type RedisServer } from './support/redis-server.ts'
import { startReceiver, type Receiver } from './support/receiver.ts'
import { spawnService, type ServiceProcess } from './support/services.ts'
import { waitFor } from './support/ports.ts'
import { makeEvent, bucketConfig } from '../services/consumer/test/harness.ts'

const stops: Array<() => Promise<void>> = []
after(async () => { for (const stop of stops.reverse()) await stop() })

const WAIT_SEC = 3

function consumerConfig (server: RedisServer, keys: ReturnType<typeof createKeys>) {
  return {
    redis: { host: '127.0.0.1', port: server.port, queue_name: keys.queue, dead_letter_queue: keys.deadLetter },
    // No circuit opens on the 20 refusals in a row: every event is attempted before the kill.
    webhook: { allowed_networks: ['127.0.0.0/8'], timeout: 2, retry_schedule: [WAIT_SEC], circuit_threshold: 100 },
    consumer: { polling_interval: 0.2, visibility_timeout: 5 }
  }
}

async function spawnConsumer (config: Record<string, unknown>, id: string): Promise<ServiceProcess> {
  const service = await spawnService('consumer', id, config, { CONSUMER_ID: id, SECRETS_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'warn' })
  stops.push(() => service.kill('SIGKILL'))
  return service
}

test('a consumer killed (and Redis restarted) with retries pending: the retries still happen on time, by the schedule, after the restart', { timeout: 60_000 }, async () => {
  const server = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always'])
  stops.push(() => server.stop())
  const receiver: Receiver = await startReceiver()
  stops.push(() => receiver.close())
  const prefix = `t:${randomUUID()}`
  const keys = createKeys({ queueName: `${prefix}:queue`, deadLetterName: `${prefix}:dead`, statePrefix: `${prefix}:state:` })
  const redis = server.client()
  const bucket = `b-${randomUUID().slice(0, 8)}`
  await createBucketStore(redis, keys).save(bucketConfig(bucket, receiver.url), 'put')
  // Each event's first attempt is refused; the second, after the schedule's one wait, is taken.
  const attempts = new Map<string, number[]>()
  receiver.respond = (req, res) => {
    const times = attempts.get(req.json.event_id) ?? []
    times.push(Date.now())
    attempts.set(req.json.event_id, times)
    res.statusCode = times.length === 1 ? 503 : 200
    res.end()
  }
  const events = Array.from({ length: 20 }, (_, i) => makeEvent(bucket, i))
  await redis.rpush(keys.queue, ...events.map(e => JSON.stringify(e)))

  const config = consumerConfig(server, keys)
  const first = await spawnConsumer(config, 'retry-a')
  await waitFor(async () => attempts.size === events.length && await redis.zcard(keys.retry) === events.length, { what: 'every event waiting for its retry', timeoutMs: 20_000 })
  await first.kill('SIGKILL')
  const firstAttempts = [...attempts.values()].map(t => t[0]!)
  assert.ok([...attempts.values()].every(t => t.length === 1), 'no retry before the kill')
  await server.restart() // from its append-only file
  const second = await spawnConsumer(config, 'retry-b')
  await waitFor(() => [...attempts.values()].every(t => t.length === 2) && attempts.size === events.length, { what: 'every retry', timeoutMs: 20_000 })

  const waits = [...attempts.values()].map(([a, b]) => (b! - a!) / 1000)
  const spread = (Math.max(...firstAttempts) - Math.min(...firstAttempts)) / 1000
  console.log(`retries after a consumer kill and a Redis restart: waits ${Math.min(...waits).toFixed(2)}-${Math.max(...waits).toFixed(2)} s for a ${WAIT_SEC} s schedule (first attempts spread over ${spread.toFixed(2)} s)`)
  // ±20 % jitter, plus the retry promotion period (250 ms) and a loaded machine's delay.
  for (const wait of waits) assert.ok(wait >= WAIT_SEC * 0.8 && wait <= WAIT_SEC * 1.2 + 1, `retry after ${wait} s`)
  assert.equal(await redis.llen(keys.deadLetter), 0)
  assert.equal(await redis.zcard(keys.retry), 0)
  assert.equal(second.proc.exitCode, null)
  redis.disconnect()
})
