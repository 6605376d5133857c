// Attempt history and the activity stream through real processes: monitor and consumer
// main.ts (separate processes, so separate replicas), Redis, the in-repo S3 server, a receiver
// and the CLI.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startPipeline } from './support/pipeline.ts'
import { waitFor } from './support/ports.ts'
import { serverSentEvents } from '../packages/cli/src/commands/events.ts'
import { runCli } from '../packages/cli/test/run-cli.ts'

interface Seen { type: string, data: Record<string, any>, receivedAt: number }

test('a retried event shows every attempt; the stream shows a detection and its delivery within a second; the CLI reads both', { timeout: 90_000 }, async () => {
  const p = await startPipeline({ pollingIntervalSec: 1, config: { webhook: { max_backoff: 1 } } })
  const home = mkdtempSync(join(tmpdir(), 'wf-cli-history-'))
  const failures = new Map<string, number>()
  const respond = p.receiver.respond
  p.receiver.respond = (req, res) => {
    const n = failures.get(req.json.key) ?? 0
    failures.set(req.json.key, n + 1)
    if (req.json.key === 'flaky.jpg' && n < 2) { res.statusCode = 500; res.end('database {"password": "hunter2"} down'); return }
    return respond(req, res)
  }
  const stream = new AbortController()
  try {
    const monitor = await p.startMonitor()
    await p.startConsumer()
    const base = `http://127.0.0.1:${monitor.port}`
    const tokenRes = await fetch(`${base}/api/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: p.env.API_CLIENT_ID, client_secret: p.env.API_CLIENT_SECRET }) })
    const { access_token: token } = await tokenRes.json() as { access_token: string }
    const get = async (path: string) => (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<any>

    const res = await fetch(`${base}/api/activity?bucket=${p.bucket}`, { headers: { authorization: `Bearer ${token}` }, signal: stream.signal })
    assert.equal(res.status, 200)
    const seen: Seen[] = []
    void (async () => { for await (const e of serverSentEvents(res.body!)) seen.push({ ...e, receivedAt: Date.now() }) })().catch(() => {})
    const cliEnv = { HOME: home, WATCH_FOLDER_URL: base, WATCH_FOLDER_CLIENT_ID: p.env.API_CLIENT_ID!, WATCH_FOLDER_CLIENT_SECRET: p.env.API_CLIENT_SECRET! }
    const tail = runCli(['events', 'tail', '--bucket', p.bucket, '-o', 'table'], { env: cliEnv })
    let tailed = ''
    tail.child.stdout!.on('data', d => { tailed += d })
    await new Promise(resolve => setTimeout(resolve, 500)) // the tail's stream is open

    p.s3.put(p.bucket, 'quick.jpg', 'q')
    p.s3.put(p.bucket, 'flaky.jpg', 'f')
    await waitFor(() => seen.some(e => e.data.key === 'flaky.jpg' && e.data.type === 'delivered'), { timeoutMs: 30_000, what: 'flaky.jpg delivered' })

    // The stream: a detection from the monitor, then the delivery from the consumer, within a second.
    const detection = seen.find(e => e.type === 'detection' && e.data.key === 'quick.jpg')!
    const delivered = seen.find(e => e.type === 'attempt' && e.data.key === 'quick.jpg' && e.data.type === 'delivered')!
    assert.ok(detection && delivered, JSON.stringify(seen))
    assert.equal(delivered.data.subscription, 'default')
    assert.equal(delivered.data.status, 200)
    const apart = Date.parse(delivered.data.at) - Date.parse(detection.data.at)
    console.log(`activity: delivery ${apart} ms after its detection (${delivered.receivedAt - detection.receivedAt} ms apart at the client)`)
    assert.ok(Math.abs(apart) < 1000, `delivered ${apart} ms after detection`)
    assert.ok(Math.abs(delivered.receivedAt - detection.receivedAt) < 1000, 'and the client saw both within a second')
    // Two processes publish, so the detection may arrive just after the first in_flight.
    const flaky = seen.filter(e => e.data.key === 'flaky.jpg')
    assert.equal(flaky.filter(e => e.type === 'detection').length, 1)
    assert.deepEqual(flaky.filter(e => e.type !== 'detection').map(e => `${e.type} ${e.data.type} ${e.data.status ?? ''}`.trim()),
      ['state in_flight', 'attempt scheduled 500', 'state in_flight', 'attempt scheduled 500', 'state in_flight', 'attempt delivered 200'])

    // The history: every attempt of the retried event, the excerpt's secret scrubbed.
    const id: string = flaky.find(e => e.type === 'detection')!.data.event_id
    const history = await get(`/api/events/${id}`)
    assert.equal(history.event.key, 'flaky.jpg')
    assert.equal(history.deliveries.length, 1)
    const [d] = history.deliveries
    assert.equal(d.state, 'delivered')
    assert.deepEqual(d.attempts.map((a: any) => a.status), [500, 500, 200])
    assert.ok(d.attempts.every((a: any) => !Number.isNaN(Date.parse(a.at)) && a.duration_ms >= 0))
    assert.match(d.attempts[0].excerpt, /"password": "\[REDACTED\]"/)
    const list = await get(`/api/buckets/${p.bucket}/events`)
    assert.deepEqual(list.events.map((e: any) => e.event.key).sort(), ['flaky.jpg', 'quick.jpg'])

    // The CLI against the same routes.
    const show = await runCli(['events', 'show', id, '-o', 'table'], { env: cliEnv })
    assert.equal(show.code, 0, show.stderr)
    assert.match(show.stdout, /default: delivered\nAT\s+STATUS\s+DURATION_MS\s+ERROR\n\S+\s+500\s+\d+/)
    await waitFor(() => /delivered\s+\S+\/flaky\.jpg\s+sub=default\s+status=200/.test(tailed), { what: 'the tail to print the delivery' })
    assert.match(tailed, /created\s+\S+\/quick\.jpg/)
    tail.child.kill('SIGINT')
    assert.equal((await tail).code, 0)
  } finally {
    stream.abort()
    await p.stop()
    rmSync(home, { recursive: true, force: true })
  }
})
