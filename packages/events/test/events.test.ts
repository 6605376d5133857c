import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeEvent, eventId } from '@internal/events'

const original = {
  bucket: 'b5k',
  key: 'seed/d0000/obj-0000001.dat',
  region: '127.0.0.1:4569',
  etag: 'c7a1',
  size: 256,
  last_modified: 1795303151,
  event_type: 'created',
  content_type: 'application/octet-stream',
  metadata: { seq: '1' },
  detection_time: 1795303289.83205,
  is_recent: true,
  retry_count: 0
}

test('the same change gets the same id; another change another', () => {
  const a = eventId({ bucket: 'b', key: 'k', etag: 'e', last_modified: 1, event_type: 'created' })
  assert.equal(a, eventId({ bucket: 'b', key: 'k', etag: 'e', last_modified: 1, event_type: 'detected' }))
  assert.notEqual(a, eventId({ bucket: 'b', key: 'k', etag: 'e2', last_modified: 1, event_type: 'updated' }))
  assert.notEqual(a, eventId({ bucket: 'b', key: 'k', etag: 'e', last_modified: 1, event_type: 'deleted' }))
})

test('an epoch starts a new series of ids for the same changes; no epoch is the id as always', () => {
  const change = { bucket: 'b', key: 'k', etag: 'e', last_modified: 1, event_type: 'created' } as const
  assert.equal(eventId(change, undefined), eventId(change))
  assert.equal(eventId(change, 'epoch-1'), eventId(change, 'epoch-1'))
  assert.notEqual(eventId(change, 'epoch-1'), eventId(change))
  assert.notEqual(eventId(change, 'epoch-1'), eventId(change, 'epoch-2'))
})

test('an entry the Python monitor queued (no event_id) decodes with a derived id', () => {
  const decoded = decodeEvent(JSON.stringify(original))
  assert.ok(decoded.ok)
  assert.equal(decoded.event.event_id, eventId(original as never))
  assert.equal(decoded.event.key, original.key)
})

test('malformed entries give a reason instead of throwing', () => {
  for (const raw of ['not json', '[]', 'null', '{"bucket":"b"}', JSON.stringify({ ...original, size: -1 })]) {
    const decoded = decodeEvent(raw)
    assert.equal(decoded.ok, false, raw)
    if (!decoded.ok) assert.ok(decoded.reason.length > 0)
  }
})

test('a control character in a field sent as a header makes the entry malformed', () => {
  const id = eventId(original as never)
  for (const bad of [{ request_id: 'a\r\nb' }, { event_id: 'x\ny' }, { bucket: 'b\u0000' }, { request_id: 'tab\there' }]) {
    const decoded = decodeEvent(JSON.stringify({ ...original, event_id: id, ...bad }))
    assert.equal(decoded.ok, false, JSON.stringify(bad))
    if (!decoded.ok) assert.match(decoded.reason, /must not contain control characters/)
  }
  assert.ok(decodeEvent(JSON.stringify({ ...original, request_id: 'e04d-1' })).ok)
})
