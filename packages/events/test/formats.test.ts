import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HTTP } from 'cloudevents'
import type { S3EventRecord } from 'aws-lambda'
import { formatWebhook, s3KeyEncode, CE_TYPE_PREFIX, type OriginalFields } from '@internal/events'

const fields: OriginalFields = {
  event_id: 'abc123',
  bucket: 'photos',
  key: 'a dir/ünï "q" 100%.jpg',
  etag: 'e1',
  size: 5,
  last_modified: 1_795_303_151,
  detection_time: 1_795_303_160.5,
  event_type: 'deleted',
  request_id: 'req-1'
}
const ctx = { subscription: 'deletions', awsRegion: 'us-east-1', source: 'http://127.0.0.1:4569/photos' }

test('s3 format: a delete has no size and eTag, the key is encoded per segment as S3 does, the original body travels whole', () => {
  const original = JSON.stringify({ ...fields, metadata: { a: 'b' } })
  const { body, headers } = formatWebhook('s3', original, fields, ctx)
  assert.deepEqual(headers, {})
  const record = JSON.parse(body).Records[0] as S3EventRecord & { watchFolder: unknown }
  assert.equal(record.eventName, 'ObjectRemoved:Delete')
  assert.equal('size' in record.s3.object, false)
  assert.equal('eTag' in record.s3.object, false)
  assert.equal(record.s3.object.key, 'a+dir/%C3%BCn%C3%AF+%22q%22+100%25.jpg')
  assert.equal(decodeURIComponent(record.s3.object.key.replace(/\+/g, ' ')), fields.key)
  assert.equal(record.eventTime, new Date(fields.detection_time * 1000).toISOString())
  assert.deepEqual(record.watchFolder, JSON.parse(original))
  assert.equal(s3KeyEncode('plain/key.txt'), 'plain/key.txt')
})

test('cloudevents format: binary mode headers the SDK parses; the subject is percent-encoded as the HTTP binding says', () => {
  const original = JSON.stringify(fields)
  const { body, headers } = formatWebhook('cloudevents', original, fields, ctx)
  assert.equal(body, original)
  const event = HTTP.toEvent({ headers: { ...headers, 'content-type': 'application/json' }, body })
  assert.ok(!Array.isArray(event))
  assert.equal(event.id, 'abc123')
  assert.equal(event.type, `${CE_TYPE_PREFIX}deleted`)
  assert.equal(event.source, ctx.source)
  assert.equal(decodeURIComponent(event.subject ?? ''), fields.key)
  assert.match(headers['ce-subject']!, /^[\x21-\x7e]+$/)
  assert.equal('ce-replay' in headers, false)
})

test('a replayed event: the s3 record\'s watchFolder and the CloudEvent\'s data say replay, and the CloudEvent has the replay extension', () => {
  const replayed = { ...fields, event_type: 'created', replay: true }
  const original = JSON.stringify(replayed)
  const s3 = JSON.parse(formatWebhook('s3', original, replayed, ctx).body).Records[0]
  assert.equal(s3.watchFolder.replay, true)
  const { body, headers } = formatWebhook('cloudevents', original, replayed, ctx)
  const event = HTTP.toEvent({ headers: { ...headers, 'content-type': 'application/json' }, body })
  assert.ok(!Array.isArray(event))
  assert.equal(event.replay, 'true')
  assert.equal((event.data as { replay: boolean }).replay, true)
})
