import { test } from 'node:test'
import assert from 'node:assert/strict'
import { OAuth2Server } from 'oauth2-mock-server'
import { Redis } from 'ioredis'
import { startPipeline, type Pipeline } from './support/pipeline.ts'
import { waitFor } from './support/ports.ts'

// The whole pipeline (real monitor and consumer processes, Redis, an S3 server over
// HTTP, a receiver) under faults. Each scenario counts deliveries by event_id against the
// changes made in the bucket and fails on any loss; duplicates are allowed (at-least-once)
// and reported.

const seed = (p: Pipeline, count: number, prefix = 'seed') => {
  const now = Date.now()
  const keys = Array.from({ length: count }, (_, i) => `${prefix}/d${String(i % 10).padStart(2, '0')}/obj-${String(i).padStart(6, '0')}.dat`)
  p.s3.seed(p.bucket, keys.map(key => ({ key, lastModified: now })))
  return keys
}

const missing = (p: Pipeline, type: string, keys: string[]) => keys.filter(k => !p.changesSeen.has(`${type} ${k}`))

async function allDelivered (p: Pipeline, type: string, keys: string[], timeoutMs = 45_000) {
  await waitFor(() => missing(p, type, keys).length === 0, { timeoutMs, everyMs: 100, what: `${keys.length} ${type} events (missing ${missing(p, type, keys).length})` })
}

test('kill -9 a monitor mid-scan, then restart it: no change is lost', async (t) => {
  const p = await startPipeline()
  t.after(() => p.stop())
  const keys = seed(p, 3000)
  p.s3.latencyMs = 2 // long enough a first scan to be killed in the middle
  await p.startConsumer()
  const first = await p.startMonitor()
  await waitFor(() => p.deliveries.size >= 100, { what: 'first deliveries', timeoutMs: 30_000 })
  await first.kill('SIGKILL')
  const atKill = p.deliveries.size
  await p.startMonitor('monitor-restarted')
  await allDelivered(p, 'created', keys)
  p.s3.put(p.bucket, 'after/restart/new.dat', 'new')
  p.s3.put(p.bucket, keys[0]!, 'changed content')
  p.s3.remove(p.bucket, keys[1]!)
  await allDelivered(p, 'created', ['after/restart/new.dat'])
  await allDelivered(p, 'updated', [keys[0]!])
  await allDelivered(p, 'deleted', [keys[1]!])
  t.diagnostic(`delivered before kill: ${atKill} of 3000; duplicates: ${p.duplicates()}`)
  assert.ok(atKill < 3000, 'the kill happened mid-scan')
})

test('kill -9 a consumer mid-delivery while another runs: every event delivered', async (t) => {
  const p = await startPipeline()
  t.after(() => p.stop())
  const keys = seed(p, 1500)
  const respond = p.receiver.respond
  p.receiver.respond = async (req, res) => { await new Promise(resolve => setTimeout(resolve, 5)); return respond(req, res) }
  await p.startMonitor()
  const victim = await p.startConsumer('victim')
  await p.startConsumer('survivor')
  await waitFor(() => p.deliveries.size >= 200, { what: 'deliveries under way', timeoutMs: 30_000 })
  await victim.kill('SIGKILL')
  await allDelivered(p, 'created', keys)
  t.diagnostic(`duplicates after kill -9 of a consumer: ${p.duplicates()}`)
})

test('the Redis master killed under Sentinel during a steady load: nothing lost', async (t) => {
  const p = await startPipeline({ sentinel: true })
  t.after(() => p.stop())
  await p.startMonitor()
  await p.startConsumer()
  const uploaded: string[] = []
  const upload = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const key = `steady/d00/obj-${String(uploaded.length).padStart(6, '0')}.dat`
      p.s3.put(p.bucket, key, `v-${uploaded.length}`)
      uploaded.push(key)
      await new Promise(resolve => setTimeout(resolve, 40))
    }
  }
  await upload(50)
  const killedAt = Date.now()
  const oldMaster = await p.sentinel!.killMaster()
  const switched = p.sentinel!.waitForNewMaster(oldMaster).then(() => Date.now() - killedAt)
  await upload(100)
  await allDelivered(p, 'created', uploaded, 60_000)
  t.diagnostic(`uploaded ${uploaded.length} objects across the failover; lost 0; duplicates ${p.duplicates()}; sentinels switched master after ${await switched} ms`)
})

test('a receiver answering 503 for a while, then recovering: every event delivered, none dead-lettered', async (t) => {
  const p = await startPipeline()
  t.after(() => p.stop())
  const keys = seed(p, 300)
  let down = true
  const respond = p.receiver.respond
  let refused = 0
  p.receiver.respond = (req, res) => {
    if (down) { refused++; res.statusCode = 503; res.end('unavailable'); return }
    return respond(req, res)
  }
  await p.startMonitor()
  await p.startConsumer()
  await waitFor(() => refused >= 5, { what: 'refusals', timeoutMs: 20_000 })
  await new Promise(resolve => setTimeout(resolve, 3000)) // the outage itself: real receivers stay down for a while
  down = false
  await allDelivered(p, 'created', keys)
  const dead = await deadLetters(p)
  t.diagnostic(`503 answers during the outage: ${refused}; dead-lettered: ${dead}; duplicates: ${p.duplicates()}`)
  assert.equal(dead, 0)
})

test('the OAuth2 token server down for a while, then back: every event delivered with a token', async (t) => {
  const oauth = new OAuth2Server()
  await oauth.issuer.keys.generate('RS256')
  await oauth.start(0, '127.0.0.1')
  t.after(() => oauth.stop())
  let tokenDown = true
  let tokenRefusals = 0
  oauth.service.on('beforeResponse', (res: any) => { if (tokenDown) { tokenRefusals++; res.statusCode = 503; res.body = { error: 'temporarily_unavailable' } } })
  const tokenUrl = `http://127.0.0.1:${oauth.address().port}/token`
  const p = await startPipeline({ bucket: { webhook_auth: { type: 'oauth2', client_id: 'pipeline-client', client_secret: 'pipeline-client-secret', token_url: tokenUrl } } })
  t.after(() => p.stop())
  const unauthenticated: string[] = []
  const respond = p.receiver.respond
  p.receiver.respond = (req, res) => {
    if (!/^Bearer .+/.test(String(req.headers.authorization))) { unauthenticated.push(req.json?.event_id); res.statusCode = 401; res.end(); return }
    return respond(req, res)
  }
  const keys = seed(p, 200)
  await p.startMonitor()
  await p.startConsumer()
  await waitFor(() => tokenRefusals >= 2, { what: 'token refusals', timeoutMs: 20_000 })
  await new Promise(resolve => setTimeout(resolve, 2000))
  tokenDown = false
  await allDelivered(p, 'created', keys)
  t.diagnostic(`token requests refused: ${tokenRefusals}; deliveries sent without a token: ${unauthenticated.length}; duplicates: ${p.duplicates()}`)
  assert.equal(unauthenticated.length, 0, 'never sent without a token')
  assert.equal(await deadLetters(p), 0)
})

test('SIGTERM to every process under load: clean exits within the deadline, nothing lost', async (t) => {
  const p = await startPipeline()
  t.after(() => p.stop())
  const keys = seed(p, 2000)
  const respond = p.receiver.respond
  p.receiver.respond = async (req, res) => { await new Promise(resolve => setTimeout(resolve, 5)); return respond(req, res) }
  const processes = [await p.startMonitor(), await p.startConsumer(), await p.startConsumer()]
  await waitFor(() => p.deliveries.size >= 300, { what: 'deliveries under way', timeoutMs: 30_000 })
  const sentAt = Date.now()
  await Promise.all(processes.map(proc => proc.proc.kill('SIGTERM')))
  const exits = await Promise.all(processes.map(proc => proc.exited))
  const slowest = Math.max(...exits.map(e => e.atMs - sentAt))
  t.diagnostic(`exit codes ${exits.map(e => e.code).join(', ')}; slowest exit ${slowest} ms after SIGTERM (deadline 5000 ms); delivered before restart ${p.changesSeen.size}`)
  assert.deepEqual(exits.map(e => e.code), [0, 0, 0])
  assert.ok(slowest < 7000, `all exited within the deadline (slowest ${slowest} ms)`)
  await p.startMonitor('monitor-again')
  await p.startConsumer('consumer-again')
  await allDelivered(p, 'created', keys)
  t.diagnostic(`duplicates after the restart: ${p.duplicates()}`)
})

async function deadLetters (p: Pipeline): Promise<number> {
  const redis = p.redis ? p.redis.client() : new Redis({ port: await p.sentinel!.currentMasterPort(), host: '127.0.0.1' })
  try { return await redis.llen('linode:notifications:dead') } finally { if (!p.redis) redis.disconnect() }
}
