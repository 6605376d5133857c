import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { createBucketStore } from '@internal/buckets'
import { createKeys } from '@internal/redis'
import { startRedis } from './support/redis-server.ts'
import { startReceiver } from './support/receiver.ts'
import { spawnService } from './support/services.ts'
import { waitFor } from './support/ports.ts'
import { makeEvent, bucketConfig } from '../services/consumer/test/harness.ts'

test('a consumer process: once a bucket is deleted its breaker series leaves /metrics and its events never reach webhook.url', async (t) => {
  const server = await startRedis()
  t.after(() => server.stop())
  const [global, failing, other] = [await startReceiver(), await startReceiver(), await startReceiver()]
  t.after(async () => { for (const r of [global, failing, other]) await r.close() })
  failing.respond = (_req, res) => { res.statusCode = 503; res.end() }
  other.respond = failing.respond
  const prefix = `t:${randomUUID()}`
  const keys = createKeys({ queueName: `${prefix}:queue`, deadLetterName: `${prefix}:dead`, statePrefix: `${prefix}:state:` })
  const redis = server.client()
  const store = createBucketStore(redis, keys)
  const [deleted, kept] = [`del-${randomUUID().slice(0, 8)}`, `kept-${randomUUID().slice(0, 8)}`]
  await store.save(bucketConfig(deleted, failing.url), 'put')
  await store.save(bucketConfig(kept, other.url), 'put')
  const consumer = await spawnService('consumer', 'consumer', {
    redis: { host: '127.0.0.1', port: server.port, queue_name: keys.queue, dead_letter_queue: keys.deadLetter },
    webhook: { url: global.url, allowed_networks: ['127.0.0.0/8'], timeout: 2, circuit_threshold: 2, circuit_reset_time: 60, max_retries: 0 },
    consumer: { polling_interval: 0.2, visibility_timeout: 5 }
  }, { SECRETS_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'warn', SHUTDOWN_TIMEOUT_MS: '3000' })
  t.after(() => consumer.kill('SIGKILL'))
  const metrics = async () => await (await fetch(`http://127.0.0.1:${consumer.port}/metrics`)).text()
  const open = (url: string) => new RegExp(`watch_folder_breaker_state\\{[^}]*endpoint="${new URL(url).origin}"[^}]*state="open"[^}]*\\} 1`)
  await redis.rpush(keys.queue, ...[makeEvent(deleted, 1), makeEvent(deleted, 2), makeEvent(kept, 3), makeEvent(kept, 4)].map(e => JSON.stringify(e)))
  await waitFor(async () => { const m = await metrics(); return open(failing.url).test(m) && open(other.url).test(m) }, { what: 'both circuits open in /metrics' })

  assert.ok(await store.remove(deleted)) // what the API's delete runs
  await waitFor(async () => !(await metrics()).includes(new URL(failing.url).origin), { what: 'the deleted bucket\'s series gone from /metrics' })
  assert.match(await metrics(), open(other.url), 'a bucket still in use keeps its open circuit')

  await redis.rpush(keys.queue, JSON.stringify(makeEvent(deleted, 5)))
  const isParked = (raw: string) => { const d = JSON.parse(raw); return d.event?.key === makeEvent(deleted, 5).key && /^BUCKET_UNKNOWN: /.test(d.reason) }
  await waitFor(async () => (await redis.lrange(keys.deadLetter, 0, -1)).some(isParked), { what: 'the deleted bucket\'s event parked as BUCKET_UNKNOWN' })
  assert.equal(global.requests.length, 0, 'nothing reached webhook.url')
  assert.equal(failing.requests.length, 2, 'nor the deleted bucket\'s own receiver')
})
