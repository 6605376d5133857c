// Replay, resync with forget and dead-letter replay through real processes: monitor and
// consumer main.ts, a private redis-server, the in-repo S3 server over HTTP, and two receivers
// that deduplicate on webhook-id as the README tells receivers to.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startPipeline, pipelineApi } from './support/pipeline.ts'
import { startReceiver, type Receiver, type ReceivedRequest } from './support/receiver.ts'
import { waitFor } from './support/ports.ts'
import { trackedState } from '../services/monitor/test/state-support.ts'
import { createKeys } from '@internal/redis'

const DAY_MS = 86_400_000

/** A receiver that takes each webhook-id once and drops a repeat, as a deduplicating one does; `refuse` answers 400 for one key. */
function deduplicating (r: Receiver) {
  const seen = new Set<string>()
  const state = { accepted: [] as ReceivedRequest[], dropped: 0, refuse: undefined as string | undefined }
  const inner = r.respond
  r.respond = (req, res) => {
    if (req.json?.key === state.refuse) { res.statusCode = 400; res.end('refused'); return }
    const id = String(req.headers['webhook-id'])
    if (seen.has(id)) state.dropped++
    else { seen.add(id); state.accepted.push(req) }
    return inner(req, res)
  }
  return state
}

const keysOf = (reqs: ReceivedRequest[]) => reqs.map(r => r.json.key as string).sort()
const idsOf = (reqs: ReceivedRequest[]) => reqs.map(r => String(r.headers['webhook-id']))

test('replay by window and prefix reaches the chosen subscription only, under fresh ids a deduplicating receiver takes, state unchanged; resync forget re-announces under new ids; a dead-letter replay keeps its id', { timeout: 90_000 }, async () => {
  const p = await startPipeline({ pollingIntervalSec: 1 })
  const archive = await startReceiver('/archive')
  const def = deduplicating(p.receiver)
  const arc = deduplicating(archive)
  const redis = p.redis!.client()
  try {
    await p.startMonitor()
    await p.startConsumer()
    const call = await pipelineApi(p)
    const sub = await call('POST', `/api/buckets/${p.bucket}/subscriptions`, { id: 'archive', webhook_url: archive.url })
    assert.equal(sub.status, 201, JSON.stringify(sub.json))
    await new Promise(resolve => setTimeout(resolve, 500)) // the consumer's registry hears of it

    const base = Math.floor((Date.now() - 10 * DAY_MS) / 1000) * 1000 // S3 times are whole seconds
    const at = (day: number) => base + day * DAY_MS
    const objects: Array<[string, number]> = [['in/one.txt', 1], ['in/two.txt', 2], ['in/three.txt', 3], ['in/four.txt', 4], ['out/two.txt', 2], ['out/three.txt', 3]]
    for (const [key, day] of objects) p.s3.put(p.bucket, key, key, { lastModified: at(day) })
    await waitFor(() => def.accepted.length >= 6 && arc.accepted.length >= 6, { timeoutMs: 20_000, what: 'the first announcement at both receivers' })
    const firstIds = new Set(idsOf(arc.accepted))

    const keys = createKeys({ queueName: 'linode:notifications:queue', deadLetterName: 'linode:notifications:dead', statePrefix: 'linode:objstore:state:' })
    const stateBefore = await trackedState(redis, keys, p.bucket)
    assert.equal(Object.keys(stateBefore).length, 6)

    // Days 2..3 of in/: in/two and in/three, to the archive only.
    const replay = await call('POST', `/api/buckets/${p.bucket}/replay`, { since: new Date(at(2)).toISOString(), until: at(3) / 1000, prefix: 'in/', subscription: 'archive' })
    assert.equal(replay.status, 202, JSON.stringify(replay.json))
    assert.deepEqual(replay.json, { count: 2 })
    await waitFor(() => arc.accepted.length >= 8, { timeoutMs: 10_000, what: 'the replayed events at the archive' })
    await new Promise(resolve => setTimeout(resolve, 2000)) // two scans and consumer polls: nothing more comes
    const replayed = arc.accepted.slice(6)
    assert.deepEqual(keysOf(replayed), ['in/three.txt', 'in/two.txt'])
    assert.ok(replayed.every(r => r.json.replay === true && !firstIds.has(String(r.headers['webhook-id']))), 'fresh ids, replay: true')
    assert.equal(arc.accepted.length, 8, 'exactly the matching objects')
    assert.equal(def.accepted.length, 6, 'the other subscription got nothing')
    assert.equal(arc.dropped + def.dropped, 0, 'nothing dropped as a duplicate')
    assert.deepEqual(await trackedState(redis, keys, p.bucket), stateBefore, 'the recorded state is unchanged')

    // A resync with forget announces everything again, under ids the receivers have not seen.
    const resync = await call('POST', `/api/buckets/${p.bucket}/resync?forget=true`)
    assert.equal(resync.status, 202)
    await waitFor(() => def.accepted.length >= 12 && arc.accepted.length >= 14, { timeoutMs: 20_000, what: 'the re-announcement at both receivers' })
    assert.deepEqual(keysOf(def.accepted.slice(6)), keysOf(def.accepted.slice(0, 6)))
    assert.equal(def.dropped + arc.dropped, 0, 'a deduplicating receiver drops none of the re-announcement')

    // A refused delivery is dead-lettered; its replay is the same message: the same webhook-id.
    def.refuse = 'dl/refused.txt'
    p.s3.put(p.bucket, 'dl/refused.txt', 'x')
    let dead: { id: string, event: { event_id: string } } | undefined
    await waitFor(async () => {
      dead = (await call('GET', '/api/dead-letters')).json.items.find((d: { event?: { key: string } }) => d.event?.key === 'dl/refused.txt')
      return dead !== undefined
    }, { timeoutMs: 20_000, what: 'the refused event dead-lettered' })
    const refusedId = String(p.receiver.requests.find(r => r.json?.key === 'dl/refused.txt')!.headers['webhook-id'])
    assert.equal(dead!.event.event_id, refusedId)
    def.refuse = undefined
    assert.equal((await call('POST', `/api/dead-letters/${dead!.id}/replay`)).status, 200)
    await waitFor(() => def.accepted.some(r => r.json.key === 'dl/refused.txt'), { timeoutMs: 10_000, what: 'the dead letter redelivered' })
    assert.equal(String(def.accepted.find(r => r.json.key === 'dl/refused.txt')!.headers['webhook-id']), refusedId, 'the same event id')
  } finally {
    redis.disconnect()
    await archive.close()
    await p.stop()
  }
})
