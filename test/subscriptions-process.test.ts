// Subscriptions through real processes: monitor and consumer main.ts, Redis, the in-repo S3
// server over HTTP and several receivers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Webhook } from 'standardwebhooks'
import { HTTP, type CloudEvent } from 'cloudevents'
import type { S3Event } from 'aws-lambda'
import { startPipeline, pipelineApi } from './support/pipeline.ts'
import { startReceiver, type Receiver, type ReceivedRequest } from './support/receiver.ts'
import { waitFor } from './support/ports.ts'

const SECRET_OLD = 'whsec_' + Buffer.from('the-old-signing-secret-32-bytes!').toString('base64')
const SECRET_NEW = 'whsec_' + Buffer.from('the-new-signing-secret-32-bytes!').toString('base64')
const POLL_SEC = 1
/** How long the s3 receiver answers 503: 20 s in the suite; SUBSCRIPTION_OUTAGE_MS=60000 for the full minute. */
const OUTAGE_MS = Number(process.env.SUBSCRIPTION_OUTAGE_MS ?? 20_000)

const seen = (r: Receiver) => r.requests.map(req => `${eventOf(req).event_type} ${eventOf(req).key}`).sort()
function eventOf (req: ReceivedRequest): Record<string, any> {
  return req.json?.Records ? req.json.Records[0].watchFolder : req.json
}

test('one bucket, three subscriptions: each receiver gets exactly what it selects, once, in its format; a 503 receiver delays no one and loses nothing; /test; rotation; delete leaves nothing', { timeout: 60_000 + 2 * OUTAGE_MS }, async () => {
  const p = await startPipeline({ pollingIntervalSec: POLL_SEC, config: { webhook: { max_retries: 50, max_backoff: 2, circuit_reset_time: 1 } } })
  const thumbs = await startReceiver('/s3-events')
  const deletions = await startReceiver('/ce')
  try {
    await p.startMonitor()
    await p.startConsumer()
    const call = await pipelineApi(p)
    const t = await call('POST', `/api/buckets/${p.bucket}/subscriptions`, { id: 'thumbs', webhook_url: thumbs.url, events: ['created', 'updated'], suffix: '.jpg', format: 's3', signing_secrets: [SECRET_OLD, SECRET_NEW] })
    assert.equal(t.status, 201, JSON.stringify(t.json))
    const d = await call('POST', `/api/buckets/${p.bucket}/subscriptions`, { id: 'deletions', webhook_url: deletions.url, events: ['deleted'], format: 'cloudevents' })
    assert.equal(d.status, 201, JSON.stringify(d.json))
    assert.deepEqual((await call('GET', `/api/buckets/${p.bucket}/subscriptions`)).json.subscriptions.map((s: { id: string }) => s.id), ['default', 'thumbs', 'deletions'])
    await new Promise(resolve => setTimeout(resolve, 500)) // the consumer's registry hears of them through pub/sub

    // Uploads of .jpg and .png, an overwrite, deletes: one scan apart each.
    const step = async (what: () => void, n: number) => { what(); await waitFor(() => p.receiver.requests.length >= n, { timeoutMs: 15_000, what: `${n} default deliveries` }) }
    await step(() => { p.s3.put(p.bucket, 'pics/cat one.jpg', 'v1'); p.s3.put(p.bucket, 'pics/dog.png', 'png') }, 2)
    await step(() => { p.s3.put(p.bucket, 'pics/cat one.jpg', 'version two') }, 3)
    await step(() => { p.s3.remove(p.bucket, 'pics/cat one.jpg'); p.s3.remove(p.bucket, 'pics/dog.png') }, 5)
    await waitFor(() => thumbs.requests.length >= 2 && deletions.requests.length >= 2, { what: 'the other subscriptions' })
    await new Promise(resolve => setTimeout(resolve, 2 * POLL_SEC * 1000)) // nothing more comes
    assert.deepEqual(seen(p.receiver), ['created pics/cat one.jpg', 'created pics/dog.png', 'deleted pics/cat one.jpg', 'deleted pics/dog.png', 'updated pics/cat one.jpg'])
    assert.deepEqual(seen(thumbs), ['created pics/cat one.jpg', 'updated pics/cat one.jpg'])
    assert.deepEqual(seen(deletions), ['deleted pics/cat one.jpg', 'deleted pics/dog.png'])
    for (const req of thumbs.requests) {
      const event: S3Event = req.json
      assert.equal(event.Records[0]!.eventName, 'ObjectCreated:Put')
      assert.equal(event.Records[0]!.s3.object.key, 'pics/cat+one.jpg')
      assert.equal(event.Records[0]!.s3.configurationId, 'thumbs')
      for (const secret of [SECRET_OLD, SECRET_NEW]) new Webhook(secret).verify(req.body, req.headers as Record<string, string>) // rotation: both verify
      const same = p.receiver.requests.find(r => r.json.event_id === req.headers['webhook-id'])
      assert.ok(same, 'the same event_id as the default subscription got')
    }
    for (const req of deletions.requests) {
      const ce = HTTP.toEvent({ headers: req.headers as Record<string, string>, body: req.body }) as CloudEvent<Record<string, unknown>>
      assert.equal(ce.type, 'com.watch-folder.object.deleted')
      // The HTTP binding percent-encodes a space, `"`, `%` and non-ASCII in headers; the SDK hands it on as sent.
      assert.equal(decodeURIComponent(ce.subject ?? ''), ce.data?.key)
      assert.ok(p.receiver.requests.some(r => r.json.event_id === ce.id))
    }

    // The s3 receiver answers 503 for a while; the default's latency stays within interval + 1 s.
    let outage = true
    thumbs.respond = (_req, res) => { res.statusCode = outage ? 503 : 200; res.end() }
    const tested = await call('POST', `/api/buckets/${p.bucket}/subscriptions/thumbs/test`)
    assert.deepEqual({ ...tested.json, duration_ms: 0 }, { delivered: false, status: 503, duration_ms: 0 })
    const uploads: Array<{ key: string, at: number }> = []
    const outageEnds = Date.now() + OUTAGE_MS
    const removals: Array<{ key: string, at: number }> = []
    for (let i = 0; Date.now() < outageEnds - 2000; i++) {
      const key = `burst/img-${i}.jpg`
      p.s3.put(p.bucket, key, `b${i}`)
      uploads.push({ key, at: Date.now() })
      // An object uploaded two rounds ago (seen by a scan by now) goes: the deletions receiver's latency too.
      const old = `burst/img-${i - 2}.jpg`
      if (i >= 2 && p.s3.remove(p.bucket, old)) removals.push({ key: old, at: Date.now() })
      await new Promise(resolve => setTimeout(resolve, 1500))
    }
    await waitFor(() => Date.now() >= outageEnds, { timeoutMs: OUTAGE_MS + 5000 })
    const latencies = uploads.map(u => {
      const got = p.receiver.requests.find(r => r.json.key === u.key)
      assert.ok(got, `${u.key} reached the default receiver during the outage`)
      return got.receivedAt - u.at
    })
    const removalLatencies = removals.map(u => {
      const got = deletions.requests.find(r => r.json.key === u.key && r.json.event_type === 'deleted')
      assert.ok(got, `the deletion of ${u.key} reached the cloudevents receiver during the outage`)
      return got.receivedAt - u.at
    })
    const worstRemoval = Math.max(...removalLatencies)
    console.log(`cloudevents receiver meanwhile: ${removals.length} deletes, delete-to-webhook max ${worstRemoval} ms`)
    assert.ok(worstRemoval <= POLL_SEC * 1000 + 1000, `delete-to-webhook latency ${worstRemoval} ms within the interval + 1 s`)
    const worst = Math.max(...latencies)
    console.log(`default receiver during a ${OUTAGE_MS / 1000} s 503 outage of another subscription: ${uploads.length} uploads, upload-to-webhook max ${worst} ms, median ${latencies.sort((a, b) => a - b)[Math.floor(latencies.length / 2)]} ms`)
    assert.ok(worst <= POLL_SEC * 1000 + 1000, `upload-to-webhook latency ${worst} ms within the interval + 1 s`)
    outage = false
    const delivered = (key: string) => thumbs.requests.some(r => r.json?.Records?.[0]?.watchFolder.key === key)
    await waitFor(() => uploads.every(u => delivered(u.key)), { timeoutMs: 30_000, what: 'every upload delivered to the recovered receiver' })
    assert.equal(p.duplicates(), 0, 'the default receiver got each event once')
    const recovered = await call('POST', `/api/buckets/${p.bucket}/subscriptions/thumbs/test`)
    assert.equal(recovered.json.status, 200)
    assert.equal(recovered.json.delivered, true)
    assert.equal((await call('GET', '/api/dead-letters')).json.total, 0, 'nothing dead-lettered')

    // Deleting a subscription leaves nothing of it in Redis (config, retries, dead letters, secret names).
    assert.equal((await call('DELETE', `/api/buckets/${p.bucket}/subscriptions/thumbs`)).status, 200)
    const redis = p.redis!.client()
    try {
      const dump: string[] = []
      for (const key of await redis.keys('*')) {
        const type = await redis.type(key)
        if (type === 'string') dump.push(key, String(await redis.get(key)))
        if (type === 'list') dump.push(key, ...await redis.lrange(key, 0, -1))
        if (type === 'hash') dump.push(key, ...Object.entries(await redis.hgetall(key)).flat())
        if (type === 'zset') dump.push(key, ...await redis.zrange(key, 0, -1))
      }
      const text = dump.join('\n')
      assert.ok(!/thumbs/i.test(text), 'nothing of the subscription in Redis')
      assert.ok(/deletions/.test(text), 'the other subscription is still there')
    } finally {
      redis.disconnect()
    }
  } finally {
    await thumbs.close()
    await deletions.close()
    await p.stop()
  }
})
