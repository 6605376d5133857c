import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { createKeys } from '@internal/redis'
import { bucketSecretNames } from '@internal/buckets'
import { startFakeS3 } from './support/fake-s3.ts'
import { startRedis, type RedisServer } from './support/redis-server.ts'
import { waitFor } from './support/ports.ts'
import { spawnMonitor, sharedEnv, type MonitorProcess } from '../services/monitor/test/spawn-monitor.ts'
import { apiClient } from '../services/monitor/test/api-processes.ts'

// A monitor child process and its redis-server, which is frozen (SIGSTOP: a store that accepts
// and never answers) or killed (connections refused) while API calls are made.

const BUCKET = 'outage-bucket'
const ADDED = 'added-during-outage'
const ANSWER_WITHIN_MS = 5000
let server: RedisServer
let redis: Redis
let monitor: MonitorProcess
let api: ReturnType<typeof apiClient>
const env = sharedEnv()
const keys = createKeys({ queueName: 'q', deadLetterName: 'd', statePrefix: 's:' })

before(async () => {
  // appendonly: what was applied before a kill is still there after the restart.
  server = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always'])
  redis = server.client()
  monitor = await spawnMonitor({
    defaults: { polling_interval: 3600 },
    redis: { host: '127.0.0.1', port: server.port },
    webhook: { allowed_networks: ['127.0.0.0/8'] },
    buckets: [{ name: BUCKET, endpoint: 'http://127.0.0.1:9', access_key: 'AK', secret_key: 'SK', webhook_url: 'http://127.0.0.1:9/hook' }]
  }, env)
  api = apiClient(monitor.port)
  await api.login(env.API_CLIENT_ID!, env.API_CLIENT_SECRET!)
})
after(async () => {
  server.signal('SIGCONT')
  await monitor.kill('SIGKILL')
  await server.stop()
})

/** One API call, its answer and how long it took; a call that does not answer in 5 s fails the test. */
async function timed (method: 'GET' | 'POST', path: string, body?: unknown) {
  const started = Date.now()
  const res = await fetch(`http://127.0.0.1:${monitor.port}${path}`, {
    method,
    headers: { authorization: `Bearer ${api.token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(ANSWER_WITHIN_MS + 1000)
  })
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() as any, ms: Date.now() - started }
}

function assertUnavailable (answer: Awaited<ReturnType<typeof timed>>): void {
  assert.equal(answer.status, 503, JSON.stringify(answer.body))
  assert.ok(answer.ms < ANSWER_WITHIN_MS, `answered after ${answer.ms} ms`)
  assert.equal(answer.body.code, 'REDIS_UNAVAILABLE')
  assert.match(answer.retryAfter ?? '', /^\d+$/)
}

async function disabledFlag (): Promise<string | null> {
  return await redis.get(keys.notificationsDisabled(BUCKET))
}

/** The API answers normally again, and the write it refused never shows up. */
async function assertRecoveredWithoutLateWrite (): Promise<number> {
  const started = Date.now()
  await waitFor(async () => (await timed('GET', '/api/buckets')).status === 200, { timeoutMs: 10_000, what: 'API back after the outage' })
  const backAfterMs = Date.now() - started
  for (let i = 0; i < 10; i++) {
    assert.equal(await disabledFlag(), null, 'a disable the API answered 503 to was applied later')
    await sleep(100)
  }
  const shown = await timed('GET', `/api/buckets/${BUCKET}`)
  assert.equal(shown.body.bucket.notifications_enabled, true)
  return backAfterMs
}

test('a hung Redis: reads and writes answer 503 within 5 s, and the write is not applied when Redis thaws', async t => {
  assert.equal(await disabledFlag(), null)
  server.signal('SIGSTOP')
  try {
    const write = await timed('POST', `/api/bucket-notifications/disable?bucket=${BUCKET}`)
    const read = await timed('GET', '/api/buckets')
    const add = await timed('POST', '/api/buckets/add', { name: ADDED, endpoint: 'http://127.0.0.1:9', access_key: 'AK', secret_key: 'SK', webhook_url: 'http://127.0.0.1:9/hook' })
    t.diagnostic(`hung Redis: write answered 503 after ${write.ms} ms, read after ${read.ms} ms, add after ${add.ms} ms`)
    assertUnavailable(write)
    assertUnavailable(read)
    assertUnavailable(add)
    // Held a while longer than the API's wait, so the frozen server has the write in its socket buffer.
    await sleep(500)
  } finally {
    server.signal('SIGCONT')
  }
  t.diagnostic(`hung Redis: API answering again ${await assertRecoveredWithoutLateWrite()} ms after the thaw`)
  assert.equal(await redis.exists(keys.apiLock(ADDED)), 0, 'the lock of the add that answered 503 is not taken later')
  assert.equal(await redis.exists(keys.bucketConfig(ADDED)), 0)
})

test('a refused Redis: calls answer 503 within 5 s, and nothing is applied when Redis is back', async t => {
  await server.kill('SIGKILL')
  try {
    const write = await timed('POST', `/api/bucket-notifications/disable?bucket=${BUCKET}`)
    const read = await timed('GET', `/api/buckets/${BUCKET}`)
    t.diagnostic(`refused Redis: write answered 503 after ${write.ms} ms, read after ${read.ms} ms`)
    assertUnavailable(write)
    assertUnavailable(read)
    // A flood of calls during the outage: one WARN line for the window, not one per call.
    const before = monitor.logs.filter(l => /redis unavailable/.test(l.message ?? l.msg)).length
    for (let i = 0; i < 20; i++) assertUnavailable(await timed('GET', `/api/buckets/${BUCKET}`))
    assert.ok(monitor.logs.filter(l => /redis unavailable/.test(l.message ?? l.msg)).length - before <= 1, 'one line per 10 s window, the rest counted')
  } finally {
    await server.restart()
  }
  t.diagnostic(`refused Redis: API answering again ${await assertRecoveredWithoutLateWrite()} ms after the restart`)
})

test('Redis freezing while an add checks its credentials: 503 within 5 s, and its secrets never land when Redis thaws', async t => {
  const s3 = await startFakeS3({ latencyMs: 1500 })
  t.after(() => s3.close())
  const name = 'frozen-during-check'
  s3.createBucket(name)
  let checking: () => void
  const checkStarted = new Promise<void>(resolve => { checking = resolve })
  s3.intercept = () => { checking(); return undefined }
  const add = timed('POST', '/api/buckets/add', { name, endpoint: s3.endpoint, access_key: 'frozen-access', secret_key: 'frozen-secret', webhook_url: 'http://127.0.0.1:9/hook' })
  await checkStarted // the lock is held and the one-key listing is on its way: the secrets come next
  server.signal('SIGSTOP')
  let answer: Awaited<typeof add>
  try {
    answer = await add
    await sleep(500) // the frozen server holds the secret write in its socket buffer
  } finally {
    server.signal('SIGCONT')
  }
  t.diagnostic(`add answered ${answer.status} after ${answer.ms} ms (1.5 s of it the credential check)`)
  assertUnavailable(answer)
  await assertRecoveredWithoutLateWrite()
  const secretNames = Object.values(bucketSecretNames(name))
  for (const secret of secretNames) assert.equal(await redis.hexists(keys.secrets, secret), 0, `${secret} written after the 503`)
  assert.equal(await redis.exists(keys.bucketConfig(name)), 0)
})
