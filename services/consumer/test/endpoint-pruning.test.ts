import { test } from 'node:test'
import assert from 'node:assert/strict'
import { waitFor } from '../../../test/support/ports.ts'
import { createBucketStore } from '@internal/buckets'
import { harnessSuite, makeEvent, bucketConfig } from './harness.ts'

const { name, receiver, harness, deadRecords } = harnessSuite()

test('breaker series, circuits and slots of an endpoint go once no bucket uses it; an endpoint still in use keeps its open circuit', async () => {
  const failing = [await receiver(), await receiver()]
  for (const r of failing) r.respond = (_req, res) => { res.statusCode = 503; res.end() }
  const [deleted, kept] = [name(), name()]
  const h = await harness({
    buckets: [bucketConfig(deleted, failing[0]!.url), bucketConfig(kept, failing[1]!.url)],
    webhook: { circuit_threshold: 2, circuit_reset_time: 60, max_retries: 0 }
  })
  const series = (r: { url: string }) => new RegExp(`watch_folder_breaker_state\\{endpoint="${new URL(r.url).origin}"[^}]*state="open"[^}]*\\} 1`)
  await h.push(makeEvent(deleted, 1), makeEvent(deleted, 2), makeEvent(kept, 3), makeEvent(kept, 4))
  await waitFor(async () => { const m = await h.registry.metrics(); return failing.every(r => series(r).test(m)) && (await deadRecords(h)).length === 4 }, { what: 'both circuits open' })
  assert.match(await h.registry.metrics(), series(failing[0]!))
  assert.match(await h.registry.metrics(), series(failing[1]!))
  assert.ok(await createBucketStore(h.redis, h.keys).remove(deleted))
  await waitFor(async () => !(await h.registry.metrics()).includes(new URL(failing[0]!.url).origin), { what: 'the deleted bucket\'s breaker series gone' })
  assert.match(await h.registry.metrics(), series(failing[1]!), 'the endpoint still in use keeps its open circuit')
  await h.push(makeEvent(kept, 5))
  await waitFor(async () => (await h.redis.zcard(h.keys.retry)) === 1, { what: 'the kept bucket\'s event waiting for its open circuit' })
  assert.equal(failing[1]!.requests.length, 2, 'the open circuit was not forgotten')
})
