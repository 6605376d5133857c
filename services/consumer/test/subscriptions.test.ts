import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Webhook } from 'standardwebhooks'
import { HTTP, type CloudEvent } from 'cloudevents'
import { OAuth2Server } from 'oauth2-mock-server'
import type { S3Event, S3EventRecord } from 'aws-lambda'
import { subscriptionSecretName, encodeSigningSecrets, type StoredSubscription } from '@internal/buckets'
import { CE_TYPE_PREFIX } from '@internal/events'
import { waitFor } from '../../../test/support/ports.ts'
import { harnessSuite, makeEvent, bucketConfig, type Harness } from './harness.ts'
import type { Receiver } from '../../../test/support/receiver.ts'

const { name, receiver, harness, deadRecords } = harnessSuite()
const SECRET_A = 'whsec_' + Buffer.from('first-signing-secret-32-bytes!!!').toString('base64')
const SECRET_B = 'whsec_' + Buffer.from('second-signing-secret-32-bytes!!').toString('base64')

const sub = (id: string, url: string, extra: Partial<StoredSubscription>): StoredSubscription =>
  ({ id, webhook_url: url, events: ['created', 'updated', 'detected', 'deleted'], format: 'original', enabled: true, ...extra })

async function scenario (opts: { thumbs?: (r: Receiver) => void, webhook?: Record<string, unknown> } = {}) {
  const [all, thumbs, deletions] = [await receiver(), await receiver(), await receiver()]
  opts.thumbs?.(thumbs)
  const bucket = name()
  const h = await harness({
    ...(opts.webhook && { webhook: opts.webhook }),
    buckets: [bucketConfig(bucket, all.url, {
      subscriptions: [
        sub('thumbs', thumbs.url, { events: ['created', 'updated'], suffix: '.jpg', format: 's3', signing_secret_count: 2 }),
        sub('deletions', deletions.url, { events: ['deleted'], format: 'cloudevents' })
      ]
    })],
    secrets: { [subscriptionSecretName(bucket, 'thumbs', 'SIGNING_SECRET')]: encodeSigningSecrets([SECRET_A, SECRET_B]) }
  })
  const events = [
    makeEvent(bucket, 1, { key: 'photos/cat pic.jpg' }),
    makeEvent(bucket, 2, { key: 'photos/b.png' }),
    makeEvent(bucket, 3, { key: 'photos/cat pic.jpg', event_type: 'updated', etag: 'etag3b' }),
    makeEvent(bucket, 4, { key: 'photos/b.png', event_type: 'deleted' })
  ]
  return { h, bucket, all, thumbs, deletions, events }
}

const settled = (h: Harness) => waitFor(async () => await h.redis.llen(h.keys.queue) === 0 && h.consumer.worker.inFlight === 0, { what: 'queue drained' })

test('each subscription gets exactly what its filters select, once, in its format, with the same event_id', async () => {
  const { h, all, thumbs, deletions, events } = await scenario()
  await h.push(...events)
  await waitFor(() => all.requests.length >= 4 && thumbs.requests.length >= 2 && deletions.requests.length >= 1, { what: 'every delivery' })
  await settled(h)
  await new Promise(resolve => setTimeout(resolve, 200)) // nothing more arrives
  assert.deepEqual(all.requests.map(r => r.json.event_id).sort(), events.map(e => e.event_id).sort(), 'default: everything, original body')
  assert.ok(all.requests.every(r => r.json.subscription === undefined && r.headers['ce-type'] === undefined))

  assert.equal(thumbs.requests.length, 2)
  for (const req of thumbs.requests) {
    for (const secret of [SECRET_A, SECRET_B]) new Webhook(secret).verify(req.body, req.headers as Record<string, string>)
    const s3: S3Event = req.json
    const record: S3EventRecord = s3.Records[0]!
    assert.equal(s3.Records.length, 1)
    assert.equal(record.eventSource, 'aws:s3')
    assert.equal(record.eventVersion, '2.1')
    assert.equal(record.eventName, 'ObjectCreated:Put')
    assert.equal(record.s3.s3SchemaVersion, '1.0')
    assert.equal(record.s3.configurationId, 'thumbs')
    assert.equal(record.s3.bucket.arn, `arn:aws:s3:::${record.s3.bucket.name}`)
    assert.equal(record.s3.object.key, 'photos/cat+pic.jpg', 'URL-encoded as S3 does, a space as +')
    assert.equal(record.s3.object.size, 256)
    assert.equal(decodeURIComponent(record.s3.object.key.replace(/\+/g, ' ')), 'photos/cat pic.jpg')
    const extra = (record as unknown as { watchFolder: Record<string, unknown> }).watchFolder
    assert.equal(extra.event_id, req.headers['webhook-id'])
    const sent = events.find(e => e.event_id === extra.event_id)!
    assert.ok(sent.event_type === 'created' || sent.event_type === 'updated')
    assert.equal(extra.event_type, sent.event_type)
    assert.deepEqual(extra.metadata, sent.metadata)
  }
  assert.deepEqual(thumbs.requests.map(r => r.headers['webhook-id']).sort(), [events[0]!.event_id, events[2]!.event_id].sort())

  assert.equal(deletions.requests.length, 1)
  const req = deletions.requests[0]!
  const ce = HTTP.toEvent({ headers: req.headers as Record<string, string>, body: req.body }) as CloudEvent<Record<string, unknown>>
  assert.equal(ce.specversion, '1.0')
  assert.equal(ce.id, events[3]!.event_id)
  assert.equal(ce.type, `${CE_TYPE_PREFIX}deleted`)
  assert.equal(ce.subject, 'photos/b.png')
  assert.match(ce.source, /^http:\/\/127\.0\.0\.1:4569\/b-/)
  assert.equal(ce.datacontenttype, 'application/json')
  assert.equal(ce.data?.key, 'photos/b.png')
  assert.equal(req.headers['webhook-id'], ce.id)
})

test('a receiver answering 503 delays no other subscription; its dead letters are tagged and a replay goes back to it only', async () => {
  let failing = true
  const { h, all, thumbs, deletions, events } = await scenario({
    thumbs: r => { r.respond = (_req, res) => { res.statusCode = failing ? 503 : 200; res.end() } },
    webhook: { circuit_reset_time: 0.2 }
  })
  const pushedAt = Date.now()
  await h.push(...events)
  await waitFor(() => all.requests.length >= 4 && deletions.requests.length >= 1, { what: 'the healthy receivers' })
  const healthyMs = Math.max(...[...all.requests, ...deletions.requests].map(r => r.receivedAt)) - pushedAt
  assert.ok(healthyMs < 1000, `healthy receivers served within ${healthyMs} ms`)
  await waitFor(async () => (await deadRecords(h)).length >= 2, { what: 'the failing subscription\'s dead letters', timeoutMs: 15_000 })
  const dead = await deadRecords(h)
  assert.deepEqual(dead.map(d => d.subscription), ['thumbs', 'thumbs'])
  assert.ok(dead.every(d => d.event.subscription === 'thumbs' && d.last_status === 503))
  assert.equal(all.requests.length, 4, 'the others got each event once')
  failing = false
  const before = { all: all.requests.length, thumbs: thumbs.requests.length, deletions: deletions.requests.length }
  const { createDeadLetters } = await import('@internal/redis')
  assert.equal(await createDeadLetters(h.redis, h.keys).replayAll(), 2)
  await waitFor(() => thumbs.requests.filter(r => r.json?.Records).length >= before.thumbs + 2, { what: 'replayed to thumbs' })
  await settled(h)
  assert.equal(all.requests.length, before.all, 'a replay does not reach the default subscription')
  assert.equal(deletions.requests.length, before.deletions)
  assert.equal(thumbs.requests.at(-1)!.json.Records[0].s3.configurationId, 'thumbs')
})

test('a subscription authenticates with its own OAuth2 client; the default sends no token', async () => {
  const oauth = new OAuth2Server()
  await oauth.issuer.keys.generate('RS256')
  await oauth.start(0, '127.0.0.1')
  const issuer = `http://127.0.0.1:${oauth.address().port}`
  const clients: string[] = []
  oauth.service.on('beforeTokenSigning', (token: any, req: any) => { clients.push(Buffer.from(String(req.headers.authorization).slice(6), 'base64').toString()) })
  try {
    const [own, secured] = [await receiver(), await receiver()]
    const bucket = name()
    const h = await harness({
      buckets: [bucketConfig(bucket, own.url, { subscriptions: [sub('secured', secured.url, { webhook_auth: { type: 'oauth2', client_id: 'sub-client', token_url: `${issuer}/token` } })] })],
      secrets: { [subscriptionSecretName(bucket, 'secured', 'WEBHOOK_CLIENT_SECRET')]: 'sub-client-secret' }
    })
    await h.push(makeEvent(bucket, 1))
    await waitFor(() => own.requests.length === 1 && secured.requests.length === 1, { what: 'both deliveries' })
    assert.match(String(secured.requests[0]!.headers.authorization), /^Bearer .+/)
    assert.equal(own.requests[0]!.headers.authorization, undefined)
    assert.deepEqual(clients, ['sub-client:sub-client-secret'])
  } finally {
    await oauth.stop()
  }
})

test('a receiver that takes seconds to answer delays no other subscription', async () => {
  const { h, all, deletions, events } = await scenario({
    thumbs: r => { r.respond = (_req, res) => { setTimeout(() => { res.statusCode = 200; res.end() }, 3000) } }
  })
  const many = Array.from({ length: 30 }, (_, i) => ({ ...events[i % 2 === 0 ? 0 : 3]!, key: `photos/${i}.jpg`, event_id: `id-${i}` }))
  const pushedAt = Date.now()
  await h.push(...many)
  await waitFor(() => all.requests.length >= 30 && deletions.requests.length >= 15, { what: 'the fast receivers' })
  const fastMs = Math.max(...[...all.requests, ...deletions.requests].map(r => r.receivedAt)) - pushedAt
  assert.ok(fastMs < 1500, `the fast receivers got all 45 deliveries within ${fastMs} ms while the slow one holds each for 3 s`)
})
