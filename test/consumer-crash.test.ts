import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBucketStore } from '@internal/buckets'
import { createKeys, type Redis } from '@internal/redis'
import { startRedis, killProcess, type RedisServer } from './support/redis-server.ts'
import { startReceiver, type Receiver } from './support/receiver.ts'
import { freePort, waitFor } from './support/ports.ts'
import { makeEvent, bucketConfig } from '../services/consumer/test/harness.ts'

let server: RedisServer
let receiver: Receiver
let redis: Redis
let dir: string
const children: ChildProcess[] = []
before(async () => {
  server = await startRedis()
  redis = server.client()
  receiver = await startReceiver()
  dir = mkdtempSync(join(tmpdir(), 'wf-consumer-'))
})
after(async () => {
  for (const child of children) await killProcess(child, 'SIGKILL')
  await receiver.close()
  await server.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** Runs services/consumer/src/main.ts as a real child process. */
async function spawnConsumer (configPath: string, id: string): Promise<{ child: ChildProcess, port: number, output: () => string }> {
  const port = await freePort()
  let output = ''
  const child = spawn(process.execPath, ['services/consumer/src/main.ts'], {
    env: { ...process.env, CONFIG_PATH: configPath, HTTP_PORT: String(port), CONSUMER_ID: id, SECRETS_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'warn', SHUTDOWN_TIMEOUT_MS: '5000' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  child.stdout?.on('data', d => { output += d })
  child.stderr?.on('data', d => { output += d })
  children.push(child)
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined))?.status === 200, { what: `consumer ${id} ready`, timeoutMs: 20_000, everyMs: 100 })
  return { child, port, output: () => output }
}

test('kill -9 a consumer mid-flight, start another: every event delivered (duplicates counted); SIGTERM drains', async (t) => {
  const prefix = `t:${randomUUID()}`
  const keys = createKeys({ queueName: `${prefix}:queue`, deadLetterName: `${prefix}:dead`, statePrefix: `${prefix}:state:` })
  const configPath = join(dir, 'config.yaml')
  writeFileSync(configPath, [
    'redis:', '  host: 127.0.0.1', `  port: ${server.port}`, `  queue_name: "${keys.queue}"`, `  dead_letter_queue: "${keys.deadLetter}"`,
    'webhook:', '  allowed_networks: ["127.0.0.0/8"]', '  timeout: 5',
    'consumer:', '  visibility_timeout: 2', '  polling_interval: 0.2', '  webhook_threads: 10', '  batch_size: 10'
  ].join('\n'))
  const bucket = `b-${randomUUID().slice(0, 8)}`
  await createBucketStore(redis, keys).save(bucketConfig(bucket, receiver.url), 'put')
  const counts = new Map<string, number>()
  const requestIds = new Map<string, string>()
  let changedRequestIds = 0
  receiver.respond = async (req, res) => {
    await new Promise(resolve => setTimeout(resolve, 20)) // slow enough that deliveries are in flight at the kill
    counts.set(req.json.event_id, (counts.get(req.json.event_id) ?? 0) + 1)
    const known = requestIds.get(req.json.event_id)
    if (known !== undefined && known !== req.headers['x-request-id']) changedRequestIds++
    requestIds.set(req.json.event_id, String(req.headers['x-request-id']))
    res.end()
  }
  const events = Array.from({ length: 600 }, (_, i) => makeEvent(bucket, i))
  await redis.rpush(keys.queue, ...events.map(e => JSON.stringify(e)))

  const first = await spawnConsumer(configPath, 'crash-a')
  await waitFor(() => counts.size >= 100, { what: 'first deliveries', timeoutMs: 20_000 })
  await killProcess(first.child, 'SIGKILL')
  const orphaned = await redis.llen(keys.processing('crash-a'))
  const second = await spawnConsumer(configPath, 'crash-b')
  const health = await fetch(`http://127.0.0.1:${second.port}/health`)
  assert.equal(health.status, 200)
  await waitFor(() => counts.size === 600, { what: 'all 600 events', timeoutMs: 30_000, everyMs: 100 })

  const duplicates = [...counts.values()].reduce((sum, n) => sum + n - 1, 0)
  t.diagnostic(`in crash-a's processing list at kill -9: ${orphaned}; duplicates delivered: ${duplicates}`)
  assert.ok(orphaned > 0, 'the kill happened mid-flight')
  assert.ok(duplicates <= orphaned, 'only events in flight at the crash may arrive twice')
  assert.equal(changedRequestIds, 0, 'a redelivered event keeps its X-Request-ID')
  assert.equal(await redis.llen(keys.processing('crash-a')), 0)
  const metrics = await (await fetch(`http://127.0.0.1:${second.port}/metrics`)).text()
  assert.match(metrics, /^watch_folder_reclaimed_total [1-9]/m)

  // SIGTERM: stops claiming, finishes in flight, returns what it holds, exits 0.
  await redis.rpush(keys.queue, ...Array.from({ length: 50 }, (_, i) => JSON.stringify(makeEvent(bucket, 1000 + i))))
  await waitFor(() => counts.size > 600, { what: 'new deliveries' })
  const exited = new Promise<number | null>(resolve => second.child.once('exit', code => resolve(code)))
  second.child.kill('SIGTERM')
  assert.equal(await exited, 0, second.output())
  assert.equal(await redis.llen(keys.processing('crash-b')), 0)
  assert.equal(await redis.zscore(keys.consumers, 'crash-b'), null)
  const left = await redis.llen(keys.queue)
  assert.equal(counts.size + left, 650, 'every event delivered or back on the queue')
})
