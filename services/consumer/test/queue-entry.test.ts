import { test } from 'node:test'
import assert from 'node:assert/strict'
import { waitFor } from '../../../test/support/ports.ts'
import { createBucketStore } from '@internal/buckets'
import { harnessSuite, makeEvent, bucketConfig } from './harness.ts'

const { name, receiver, harness, deadRecords } = harnessSuite()

test('CR/LF in request_id or event_id: dead-lettered at once with the reason, never sent, the loop carries on', async () => {
  const r = await receiver()
  const bucket = name()
  const h = await harness({ buckets: [bucketConfig(bucket, r.url)] })
  const badRequestId = { ...makeEvent(bucket, 1), request_id: 'abc\r\nX-Injected: 1' }
  const badEventId = { ...makeEvent(bucket, 2), event_id: 'id\nx' }
  const good = makeEvent(bucket, 3)
  await h.push(badRequestId, badEventId, good)
  await waitFor(async () => (await deadRecords(h)).length === 2 && r.requests.length === 1, { what: 'two parked entries and one delivery' })
  const dead = await deadRecords(h)
  const byKey = new Map(dead.map(d => [d.event.key, d]))
  const rid = byKey.get(badRequestId.key)
  const eid = byKey.get(badEventId.key)
  assert.equal(rid.attempts, 0, 'parked at once, no attempt spent')
  assert.match(rid.reason, /^malformed entry: .*request_id/)
  assert.equal(rid.event.request_id, badRequestId.request_id, 'the entry is kept as it was')
  assert.equal(eid.attempts, 0)
  assert.match(eid.reason, /^malformed entry: .*event_id/)
  assert.equal(r.requests[0]!.json.key, good.key)
  assert.equal(await h.redis.zcard(h.keys.retry), 0, 'nothing scheduled for a retry')
})

test('an event of a deleted or never-known bucket is dead-lettered as BUCKET_UNKNOWN, never sent to webhook.url', async () => {
  const global = await receiver()
  const gone = name()
  const plain = name() // exists, has no webhook_url of its own: webhook.url stays its default
  const h = await harness({ buckets: [bucketConfig(gone, global.url, { webhook_url: null }), bucketConfig(plain, '', { webhook_url: null })], webhook: { url: global.url } })
  assert.ok(await createBucketStore(h.redis, h.keys).remove(gone))
  await waitFor(() => h.consumer.buckets.get(gone) === undefined, { what: 'the deletion seen by the consumer' })
  await h.push(makeEvent(gone, 1), makeEvent('never-configured', 2), makeEvent(plain, 3))
  await waitFor(async () => (await deadRecords(h)).length === 2 && global.requests.length === 1, { what: 'two parked, one delivered' })
  await new Promise(resolve => setTimeout(resolve, 200))
  assert.deepEqual(global.requests.map(q => q.json.bucket), [plain], 'only the existing bucket reached webhook.url')
  for (const d of await deadRecords(h)) {
    assert.match(d.reason, /^BUCKET_UNKNOWN: /)
    assert.equal(d.attempts, 1)
    assert.equal(d.last_status, null)
  }
  assert.deepEqual((await deadRecords(h)).map(d => d.event.bucket).sort(), [gone, 'never-configured'].sort())
})
