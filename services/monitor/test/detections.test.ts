// The scanner records every event it enqueues in the attempt history and announces it on the
// activity stream, once the commit holds it: a real redis-server and the in-repo S3 server.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { createHistory, createRecorder, type ActivityEvent } from '@internal/redis'
import { recordDetections } from '../src/detections.ts'
import { createScanHarness, useScanServers } from './scan-harness.ts'

const servers = useScanServers()

test('each committed event is in the bucket\'s history before any delivery, and published as a detection; an unchanged rescan adds nothing', async () => {
  const { redis, fake } = servers
  const h = createScanHarness(redis)
  const history = createHistory(redis, h.keys, { ttlMs: 3600_000 })
  const recorder = createRecorder({ redis, keys: h.keys, history, now: Date.now, onError: err => { throw err } })
  h.deps.onEvents = recordDetections(recorder, Date.now)
  const sub = redis.duplicate()
  const published: ActivityEvent[] = []
  sub.on('message', (_c, text: string) => published.push(...JSON.parse(text) as ActivityEvent[]))
  await sub.subscribe(h.keys.activityChannel)
  const name = `det-${randomUUID().slice(0, 8)}`
  fake.createBucket(name)
  for (const key of ['a/1.jpg', 'a/2.jpg', 'a/3.jpg']) fake.put(name, key, key)
  const endpoint = fake.endpoint

  await h.scan({ name }, { endpoint })
  await h.scan({ name }, { endpoint }) // nothing changed
  fake.remove(name, 'a/2.jpg')
  await h.scan({ name }, { endpoint })
  await recorder.flush()
  await new Promise(resolve => setTimeout(resolve, 100))

  const queued = await h.drain()
  const page = await history.page(name, { limit: 10 })
  assert.deepEqual(page.items.map(r => `${String(r.event.event_type)} ${String(r.event.key)}`).sort(), [...queued].sort())
  assert.equal(queued.length, 4)
  assert.ok(page.items.every(r => r.deliveries.length === 0), 'no delivery yet')
  assert.deepEqual(published.map(e => `${e.kind} ${e.type} ${e.key}`).sort(), queued.map(q => `detection ${q}`).sort())
  await sub.quit()
})
