import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { startRedis, type RedisServer } from './support/redis-server.ts'
import { startReceiver, type Receiver } from './support/receiver.ts'
import { waitFor } from './support/ports.ts'
import { startHarness, makeEvent, bucketConfig, type Harness } from '../services/consumer/test/harness.ts'

let server: RedisServer
let receiver: Receiver
const harnesses: Harness[] = []
before(async () => { server = await startRedis(); receiver = await startReceiver() })
after(async () => { for (const h of harnesses) await h.stop(); await receiver.close(); await server.stop() })

test('two consumers on 10,000 events: every event delivered, none by both at once', async (t) => {
  const bucket = `b-${randomUUID().slice(0, 8)}`
  const inFlight = new Set<string>()
  const counts = new Map<string, number>()
  let overlaps = 0
  receiver.respond = async (req, res) => {
    const id = req.json.event_id as string
    if (inFlight.has(id)) overlaps++
    inFlight.add(id)
    counts.set(id, (counts.get(id) ?? 0) + 1)
    await new Promise(resolve => setTimeout(resolve, Math.random() * 3))
    inFlight.delete(id)
    res.statusCode = 204
    res.end()
  }
  const first = await startHarness({ redisPort: server.port, buckets: [bucketConfig(bucket, receiver.url)], consumerId: 'scale-a', webhook: { max_per_endpoint: 20 } })
  harnesses.push(first)
  const second = await startHarness({ redisPort: server.port, shared: { prefix: first.prefix }, consumerId: 'scale-b', webhook: { max_per_endpoint: 20 } })
  harnesses.push(second)

  const events = Array.from({ length: 10_000 }, (_, i) => makeEvent(bucket, i))
  const started = Date.now()
  for (let i = 0; i < events.length; i += 1000) await first.push(...events.slice(i, i + 1000))
  await waitFor(() => counts.size === 10_000, { what: '10,000 distinct events', timeoutMs: 60_000, everyMs: 100 })
  const seconds = (Date.now() - started) / 1000
  await waitFor(async () => await first.redis.llen(first.keys.queue) === 0 && first.consumer.worker.inFlight === 0 && second.consumer.worker.inFlight === 0)

  const duplicates = [...counts.values()].reduce((sum, n) => sum + n - 1, 0)
  const byA = first.logs.filter(l => l.message === 'webhook delivered').length
  const byB = second.logs.filter(l => l.message === 'webhook delivered').length
  const reclaimed = [...first.logs, ...second.logs].filter(l => l.message?.startsWith('returned in-flight entries')).reduce((n, l) => n + Number(l.reclaimed), 0)
  t.diagnostic(`10,000 events in ${seconds.toFixed(1)} s (${Math.round(10_000 / seconds)}/s); consumer a ${byA}, b ${byB}; duplicates ${duplicates}; overlaps ${overlaps}; reclaimed ${reclaimed}`)
  assert.equal(overlaps, 0)
  assert.equal(duplicates, 0)
  assert.equal(byA + byB, 10_000)
  assert.ok(byA > 1000 && byB > 1000, `both consumers worked: ${byA} / ${byB}`)
  assert.equal(await first.redis.llen(first.keys.deadLetter), 0)
  assert.equal(await first.redis.llen(first.keys.processing('scale-a')) + await first.redis.llen(first.keys.processing('scale-b')), 0)
})
