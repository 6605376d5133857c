import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { Webhook } from 'standardwebhooks'
import { startRedis } from '../../../test/support/redis-server.ts'
import { freePort, waitFor } from '../../../test/support/ports.ts'
import { createBucketStore } from '@internal/buckets'
import { startHarness, harnessSuite, makeEvent, bucketConfig, bucketSecretNames } from './harness.ts'

const { cleanups, name, receiver, harness, deadRecords } = harnessSuite()

test('delivers every event once, signed, with one log line per delivery and no secret in the logs', async () => {
  const r = await receiver()
  const bucket = name()
  const secret = `whsec_${randomBytes(24).toString('base64')}`
  const h = await harness({ buckets: [bucketConfig(bucket, r.url)], secrets: { [bucketSecretNames(bucket).SIGNING_SECRET]: secret } })
  const events = Array.from({ length: 50 }, (_, i) => makeEvent(bucket, i))
  await h.push(...events)
  await waitFor(() => r.requests.length >= 50, { what: '50 deliveries' })
  await waitFor(async () => await h.redis.llen(h.keys.queue) === 0 && (await h.consumer.worker.inFlight) === 0)
  const ids = r.requests.map(q => q.json.event_id).sort()
  assert.deepEqual(ids, events.map(e => e.event_id).sort())
  for (const q of r.requests) {
    const verified = new Webhook(secret).verify(q.body, q.headers as Record<string, string>) as Record<string, unknown>
    assert.equal(verified.retry_count, 1)
    assert.equal(q.headers['x-request-id'], q.json.request_id)
    assert.equal(q.headers['webhook-id'], q.json.event_id)
    assert.match(q.json.delivery_attempt_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  }
  const lines = h.logs.filter(l => l.message === 'webhook delivered')
  assert.equal(lines.length, 50)
  const line = lines[0]!
  for (const field of ['bucket', 'object_key', 'event_type', 'webhook_url', 'response_code', 'duration_ms', 'request_id']) assert.ok(field in line, field)
  assert.equal(line.logger, 'webhook-consumer')
  assert.ok(!JSON.stringify(h.logs).includes(secret.slice(6)))
  const metrics = await h.registry.metrics()
  assert.match(metrics, /watch_folder_deliveries_total\{outcome="delivered"[^}]*\} 50/)
  assert.match(metrics, /watch_folder_queue_depth\{list="queue"[^}]*\} 0/)
})

test('500 then 200: delivered on the second attempt with the same request_id and retry_count 2', async () => {
  const r = await receiver()
  let calls = 0
  r.respond = (_req, res) => { res.statusCode = ++calls === 1 ? 500 : 200; res.end() }
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, r.url)] })
  await h.push(makeEvent(bucket, 1))
  await waitFor(() => r.requests.length === 2, { what: 'two attempts' })
  const [first, second] = r.requests
  assert.equal(first!.json.retry_count, 1)
  assert.equal(second!.json.retry_count, 2)
  assert.equal(first!.json.request_id, second!.json.request_id)
  assert.equal(first!.headers['webhook-id'], second!.headers['webhook-id'])
  await waitFor(async () => await h.redis.zcard(h.keys.retry) === 0 && await h.redis.llen(h.keys.queue) === 0)
  await new Promise(resolve => setTimeout(resolve, 200))
  assert.equal(r.requests.length, 2)
  assert.equal((await deadRecords(h)).length, 0)
})

test('400 goes to the dead-letter list at once, with status, excerpt and attempts; 410 parks the event, disables the subscription and marks the endpoint gone', async () => {
  const r = await receiver()
  r.respond = (req, res) => { res.statusCode = req.json.key.endsWith('1.dat') ? 400 : 410; res.end('bad payload: missing thing') }
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, r.url)] })
  await h.push(makeEvent(bucket, 1))
  await waitFor(async () => (await deadRecords(h)).length === 1, { what: 'a dead letter' })
  await h.push(makeEvent(bucket, 2))
  await waitFor(async () => await h.redis.llen(h.keys.parked(bucket, 'default')) === 1, { what: 'a parked event' })
  assert.equal(r.requests.length, 2)
  const dead = await deadRecords(h)
  assert.equal(dead.length, 1)
  assert.equal(dead[0].reason, 'receiver answered 400')
  assert.equal(dead[0].attempts, 1)
  assert.equal(dead[0].response_excerpt, 'bad payload: missing thing')
  assert.equal(dead[0].event.bucket, bucket)
  assert.match(dead[0].dead_at, /Z$/)
  assert.deepEqual(await h.redis.hmget(h.keys.subscriptionState(bucket, 'default'), 'state', 'reason'), ['disabled', 'gone'])
  const gone = JSON.parse(await h.redis.hget(h.keys.endpointStatus, r.url) ?? '{}')
  assert.equal(gone.gone, true)
  assert.equal(gone.status, 410)
})

test('a malformed entry is dead-lettered with the reason and the loop carries on', async () => {
  const r = await receiver()
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, r.url)] })
  await h.push('not json at all', JSON.stringify({ bucket }), makeEvent(bucket, 3))
  await waitFor(() => r.requests.length === 1, { what: 'the valid event' })
  await waitFor(async () => (await deadRecords(h)).length === 2)
  const dead = await deadRecords(h)
  assert.ok(dead.some(d => d.raw === 'not json at all' && d.reason.startsWith('malformed entry: not JSON')))
  assert.ok(dead.some(d => d.event?.bucket === bucket && /event_id/.test(d.reason)))
})

test('after the last retry the event is dead-lettered with its attempts and last status', async () => {
  const r = await receiver()
  r.respond = (_req, res) => { res.statusCode = 503; res.end('down for maintenance') }
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, r.url)], webhook: { max_retries: 2, circuit_threshold: 100 } })
  await h.push(makeEvent(bucket, 1))
  await waitFor(async () => (await deadRecords(h)).length === 1, { what: 'dead letter' })
  const [dead] = await deadRecords(h)
  assert.equal(r.requests.length, 3)
  assert.equal(dead.attempts, 3)
  assert.equal(dead.last_status, 503)
  assert.equal(dead.response_excerpt, 'down for maintenance')
  assert.match(dead.reason, /gave up after 3 attempts/)
})

test('while the circuit is open, events wait in the retry set without spending attempts', async () => {
  const r = await receiver()
  r.respond = (_req, res) => { res.statusCode = 503; res.end() }
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, r.url)], webhook: { circuit_threshold: 1, circuit_reset_time: 30, max_per_endpoint: 1 }, consumer: { webhook_threads: 1 } })
  await h.push(...Array.from({ length: 5 }, (_, i) => makeEvent(bucket, i)))
  const waiting = async () => h.redis.zrange(h.keys.retry, 0, -1, 'WITHSCORES')
  const deferred = (w: string[]) => w.filter((_, i) => i % 2 === 1).map(Number).filter(due => due > Date.now() + 20_000).length
  // The failed event comes back after its short backoff, finds the circuit open and waits too.
  await waitFor(async () => deferred(await waiting()) === 5, { what: 'all waiting for the half-open time' })
  assert.equal(r.requests.length, 1)
  const entries = (await waiting()).filter((_, i) => i % 2 === 0).map(e => JSON.parse(e))
  assert.deepEqual(entries.map(e => e.retry_count ?? 0).sort(), [0, 0, 0, 0, 1])
  assert.match(await h.registry.metrics(), /watch_folder_breaker_state\{endpoint="http:\/\/127\.0\.0\.1:\d+"[^}]*state="open"[^}]*\} 1/)
})

test('receiver down for a while, then back: every event delivered, none lost', async () => {
  const port = await freePort()
  const received = new Map<string, number>()
  let up: Server | undefined
  const start = async () => {
    up = createServer((req, res) => {
      let body = ''
      req.on('data', c => { body += c })
      req.on('end', () => { const id = JSON.parse(body).event_id; received.set(id, (received.get(id) ?? 0) + 1); res.end() })
    })
    await new Promise<void>(resolve => up!.listen(port, '127.0.0.1', resolve))
  }
  cleanups.push(async () => { up?.closeAllConnections(); await new Promise(resolve => up?.close(resolve) ?? resolve(undefined)) })
  const bucket = name()
  const h = await harness({
    buckets: [bucketConfig(bucket, `http://127.0.0.1:${port}/hook`)],
    webhook: { max_retries: 30, circuit_threshold: 3, circuit_reset_time: 0.3, max_backoff: 1 }
  })
  const events = Array.from({ length: 200 }, (_, i) => makeEvent(bucket, i))
  await h.push(...events)
  await new Promise(resolve => setTimeout(resolve, 1500)) // down: connection refused
  assert.equal(received.size, 0)
  await start()
  await waitFor(() => received.size === 200, { what: 'all 200 delivered', timeoutMs: 15_000 })
  assert.equal((await deadRecords(h)).length, 0)
})

test('one receiver hanging while another receives: the healthy one is not slowed', async () => {
  const healthy = await receiver()
  const hanging = await receiver()
  hanging.respond = () => {} // never answers
  const good = name()
  const bad = name()
  const h = await harness({
    buckets: [bucketConfig(good, healthy.url), bucketConfig(bad, hanging.url)],
    webhook: { timeout: 1, max_per_endpoint: 4, circuit_threshold: 5, circuit_reset_time: 5, max_retries: 10 },
    consumer: { webhook_threads: 10 }
  })
  const events = Array.from({ length: 400 }, (_, i) => makeEvent(i % 2 === 0 ? good : bad, i))
  const started = Date.now()
  await h.push(...events)
  await waitFor(() => healthy.requests.length === 200, { what: 'healthy deliveries', timeoutMs: 10_000 })
  const elapsed = Date.now() - started
  // With the hanging receiver holding every worker, 200 events would need 200 / 10 * 1 s = 20 s.
  assert.ok(elapsed < 3000, `healthy receiver took ${elapsed} ms`)
  assert.ok(hanging.requests.length <= 12, `hanging receiver got ${hanging.requests.length} requests`)
})

test('a bucket webhook_url change made through the store reaches the consumer within a second', async () => {
  const before = await receiver()
  const after = await receiver()
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, before.url)] })
  await h.push(makeEvent(bucket, 1))
  await waitFor(() => before.requests.length === 1, { what: 'first delivery' })
  await createBucketStore(h.redis, h.keys).save(bucketConfig(bucket, after.url), 'update')
  const changedAt = Date.now()
  await waitFor(() => h.consumer.buckets.get(bucket)?.webhook_url === after.url, { what: 'registry update', timeoutMs: 1000, everyMs: 5 })
  await h.push(makeEvent(bucket, 2))
  await waitFor(() => after.requests.length === 1, { what: 'delivery to the new url', timeoutMs: 1000 })
  assert.ok(Date.now() - changedAt < 1000)
  assert.equal(before.requests.length, 1)
})

test('an event whose bucket has no webhook_url and no webhook.url is dead-lettered as NO_WEBHOOK_URL', async () => {
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, '', { webhook_url: null })] })
  await h.push(makeEvent(bucket, 1))
  await waitFor(async () => (await deadRecords(h)).length === 1, { what: 'dead letter' })
  const [dead] = await deadRecords(h)
  assert.match(dead.reason, /^NO_WEBHOOK_URL/)
  assert.equal(dead.last_status, null)
})

test('SSRF: a webhook URL outside webhook.allowed_networks is dead-lettered as ADDRESS_REFUSED and never contacted', async () => {
  const r = await receiver()
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, r.url.replace('127.0.0.1', 'localhost'))], webhook: { allowed_networks: [] } })
  await h.push(makeEvent(bucket, 1))
  await waitFor(async () => (await deadRecords(h)).length === 1, { what: 'dead letter' })
  const [dead] = await deadRecords(h)
  assert.match(dead.reason, /^ADDRESS_REFUSED/)
  assert.equal(r.requests.length, 0)
})

test('a 429 with Retry-After waits that long (capped by webhook.max_retry_after) without a worker', async () => {
  const r = await receiver()
  let calls = 0
  r.respond = (_req, res) => { if (++calls === 1) { res.writeHead(429, { 'retry-after': '30' }); res.end() } else { res.statusCode = 200; res.end() } }
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, r.url)], webhook: { max_retry_after: 0.4 } })
  await h.push(makeEvent(bucket, 1))
  await waitFor(() => r.requests.length === 2, { what: 'second attempt' })
  const gap = r.requests[1]!.receivedAt - r.requests[0]!.receivedAt
  assert.ok(gap >= 380 && gap < 5000, `second attempt after ${gap} ms`)
  // The receiver records the request before it answers: the delivery settles just after.
  await waitFor(() => h.consumer.worker.inFlight === 0, { what: 'the second attempt settled', timeoutMs: 2000 })
  assert.equal(h.consumer.worker.inFlight, 0)
})

test('one receiver behind max_per_endpoint: at most the cap in flight, and no event bounced through the retry set', async () => {
  const r = await receiver()
  let inFlight = 0
  let peak = 0
  r.respond = async (_req, res) => {
    peak = Math.max(peak, ++inFlight)
    await new Promise(resolve => setTimeout(resolve, 5))
    inFlight--
    res.end()
  }
  const bucket = name()
  const own = await startRedis() // only this bucket's receiver is known there
  cleanups.push(() => own.stop())
  const h = await startHarness({ redisPort: own.port, random: () => 0.5, buckets: [bucketConfig(bucket, r.url)], webhook: { max_per_endpoint: 5 }, consumer: { webhook_threads: 20, batch_size: 10 } })
  cleanups.push(() => h.stop())
  await h.push(...Array.from({ length: 300 }, (_, i) => makeEvent(bucket, i)))
  await waitFor(() => r.requests.length === 300, { what: '300 deliveries' })
  assert.ok(peak <= 5, `peak ${peak}`)
  assert.doesNotMatch(await h.registry.metrics(), /outcome="deferred"/)
})

test('close(deadline) with a receiver that never answers returns near the deadline, not after webhook.timeout', async () => {
  const r = await receiver()
  r.respond = () => new Promise<void>(() => {}) // holds the request open
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, r.url)], webhook: { timeout: 20 } })
  await h.push(makeEvent(bucket, 1))
  await waitFor(() => r.requests.length === 1, { what: 'the request in flight' })
  const [consumerId] = await h.redis.zrange(h.keys.consumers, 0, -1)
  const started = Date.now()
  assert.equal(await h.consumer.close(300), false)
  const took = Date.now() - started
  assert.ok(took < 3000, `close took ${took} ms`)
  // The abandoned request fails: its entry is settled as a retry, or left for the reaper; never lost.
  await waitFor(async () => await h.redis.llen(h.keys.processing(consumerId!)) + await h.redis.zcard(h.keys.retry) === 1, { what: 'the entry kept' })
})

test('a 2xx whose body never ends counts as delivered once the body times out: no second delivery', async () => {
  const r = await receiver()
  r.respond = (_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.write('accepted, streaming...') } // never ends
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, r.url)], webhook: { timeout: 0.5 } })
  await h.push(makeEvent(bucket, 1))
  await waitFor(() => h.logs.some(l => l.message === 'webhook delivered' || l.message === 'webhook delivery failed'), { what: 'the attempt settled' })
  await new Promise(resolve => setTimeout(resolve, 300))
  assert.equal(r.requests.length, 1)
  assert.equal(h.logs.filter(l => l.message === 'webhook delivered').length, 1)
  assert.equal(await h.redis.zcard(h.keys.retry), 0)
})
