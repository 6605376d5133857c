import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ServerResponse } from 'node:http'
import { waitFor } from '../../../test/support/ports.ts'
import { harnessSuite, makeEvent, bucketConfig } from './harness.ts'

const { name, receiver, harness } = harnessSuite()

/** Answers 200 at once, then writes one byte a second for a minute. */
function drip (_req: unknown, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain' })
  const timer = setInterval(() => res.write('.'), 1000)
  res.on('close', () => clearInterval(timer))
  setTimeout(() => { clearInterval(timer); res.end() }, 60_000).unref()
}

const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.99) - 1]!

test('two receivers dripping a 2xx body and one hanging before its headers: a healthy receiver keeps its latency', async () => {
  const healthy = await receiver()
  const drippers = [await receiver(), await receiver()]
  const hanging = await receiver()
  for (const d of drippers) d.respond = drip
  hanging.respond = () => new Promise<void>(() => {}) // never sends headers
  const good = name()
  const bad = [name(), name(), name()]
  // The shipped defaults: 20 workers, 10 per endpoint, a 10 s delivery deadline.
  const h = await harness({
    buckets: [bucketConfig(good, healthy.url), bucketConfig(bad[0]!, drippers[0]!.url), bucketConfig(bad[1]!, drippers[1]!.url), bucketConfig(bad[2]!, hanging.url)],
    webhook: { timeout: 10, max_per_endpoint: 10 },
    consumer: { webhook_threads: 20, visibility_timeout: 30 }
  })
  await h.push(...bad.flatMap((b, j) => Array.from({ length: 100 }, (_, i) => makeEvent(b, j * 1000 + i))))
  await waitFor(() => drippers.every(d => d.requests.length >= 3), { what: 'the faulty receivers busy' })
  await new Promise(resolve => setTimeout(resolve, 300))
  const sentAt = new Map<string, number>()
  for (let i = 0; i < 60; i++) {
    const event = makeEvent(good, i)
    sentAt.set(event.key, Date.now())
    await h.push(event)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  await waitFor(() => healthy.requests.length >= 60, { what: 'every healthy delivery', timeoutMs: 20_000 })
  const latencies = healthy.requests.map(q => q.receivedAt - sentAt.get(q.json.key)!)
  const worst = p99(latencies)
  console.log(`healthy receiver during the fault: p99 ${worst} ms, max ${Math.max(...latencies)} ms over ${latencies.length} deliveries`)
  assert.ok(worst < 1000, `healthy p99 ${worst} ms`)
  assert.ok(hanging.requests.length >= 1, 'the hanging receiver held slots during the fault')
  for (const d of drippers) assert.ok(d.requests.every(q => q.json.retry_count === 1), 'a 2xx with a dripping body is delivered, not retried')
})

test('close() does not wait for the body of a 2xx still dripping: the event is settled', async () => {
  const dripper = await receiver()
  dripper.respond = drip
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, dripper.url)], webhook: { timeout: 10 } })
  await h.push(makeEvent(bucket, 1))
  await waitFor(() => h.logs.some(l => l.message === 'webhook delivered'), { what: 'the delivery' })
  const started = Date.now()
  assert.equal(await h.consumer.close(3000), true)
  assert.ok(Date.now() - started < 1000, `close took ${Date.now() - started} ms`)
})

test('a receiver that never answers gives up after webhook.timeout with the code in the dead-letter reason', async () => {
  const hanging = await receiver()
  hanging.respond = () => new Promise<void>(() => {})
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, hanging.url)], webhook: { timeout: 0.3, max_retries: 0 } })
  const started = Date.now()
  await h.push(makeEvent(bucket, 1))
  await waitFor(async () => await h.redis.llen(h.keys.deadLetter) === 1, { what: 'the dead letter' })
  const [dead] = (await h.redis.lrange(h.keys.deadLetter, 0, -1)).map(r => JSON.parse(r))
  assert.match(dead.reason, /WEBHOOK_TIMEOUT: no answer within the delivery deadline of 300 ms/)
  assert.ok(Date.now() - started < 2000, `gave up after ${Date.now() - started} ms`)
})
