import { createServer, type Server } from 'node:http'
import { Writable } from 'node:stream'
import { Agent, request } from 'undici'
import { Redis } from 'ioredis'
import { ConfigFile, BaseEnv, type Config } from '@internal/config'
import { createBucketStore, createMemorySecretStore } from '@internal/buckets'
import { createKeys } from '@internal/redis'
import { createLogger } from '@internal/telemetry'
import { startRedis } from '../test/support/redis-server.ts'
import { makeEvent } from '../services/consumer/test/harness.ts'
import { startConsumer } from '../services/consumer/src/consumer.ts'
import { writeResult } from './report.ts'

// `npm run bench -- delivery`: 20,000 events through a real consumer to a local keep-alive
// receiver, against a bare undici POST loop with the same concurrency to the same receiver.

const EVENTS = Number(process.env.BENCH_DELIVERY_EVENTS ?? 20_000)
const CONCURRENCY = 20
const REPS = Number(process.env.BENCH_DELIVERY_REPS ?? 5)

type Run = ReturnType<typeof summary> & { cpu_us_per_delivery: number }
interface Receipt { latencies: number[], count: number, firstAt: number, lastAt: number }

/** A bare keep-alive receiver that answers 204 and records enqueue-to-receipt latency. */
export async function startBenchReceiver (): Promise<{ url: string, server: Server, reset (): Receipt }> {
  let receipt: Receipt = { latencies: [], count: 0, firstAt: 0, lastAt: 0 }
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', c => { body += c })
    req.on('end', () => {
      const now = Date.now()
      const enqueuedMs = JSON.parse(body).detection_time * 1000
      receipt.latencies.push(now - enqueuedMs)
      if (receipt.count++ === 0) receipt.firstAt = now
      receipt.lastAt = now
      res.statusCode = 204
      res.end()
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}/hook`, server, reset () { const r = receipt; receipt = { latencies: [], count: 0, firstAt: 0, lastAt: 0 }; return r } }
}

function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p / 100 * sorted.length))] ?? 0
}

export function summary (receipt: Receipt, startedAt: number) {
  const seconds = (receipt.lastAt - startedAt) / 1000
  return { events: receipt.count, seconds: +seconds.toFixed(2), per_second: Math.round(receipt.count / seconds), p50_ms: percentile(receipt.latencies, 50), p99_ms: percentile(receipt.latencies, 99) }
}

// The same header set the consumer sends, so the receiver does the same work for both.
const BARE_HEADERS = {
  'content-type': 'application/json',
  'user-agent': 'watch-folder/1.0',
  'x-request-id': '6f1c2a9e-4b7d-4f0e-9a51-3c2d8e7f6a10',
  'x-bucket-name': 'bench-bucket',
  'x-event-type': 'created',
  'webhook-id': '0123456789abcdef0123456789abcdef',
  'webhook-timestamp': '1795309323'
}

export async function bareLoop (url: string, bodies: string[]): Promise<number> {
  const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 60_000 })
  const started = Date.now()
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!.replace('"detection_time":0', `"detection_time":${Date.now() / 1000}`)
      const res = await request(url, { method: 'POST', dispatcher: agent, body, headers: BARE_HEADERS })
      await res.body.dump()
    }
  }))
  await agent.close()
  return started
}

function config (port: number, url: string): Config {
  const file = ConfigFile.parse({
    redis: { host: '127.0.0.1', port, queue_name: 'bench:queue', dead_letter_queue: 'bench:dead' },
    webhook: { url, allowed_networks: ['127.0.0.0/8'], max_per_endpoint: CONCURRENCY },
    consumer: { webhook_threads: CONCURRENCY, batch_size: CONCURRENCY }
  })
  return { ...file, env: BaseEnv.parse({}), logLevel: 'info', httpPort: 0, httpHost: '127.0.0.1' }
}

/** The bucket the events name, with the receiver as its webhook: the consumer delivers for known buckets only. */
async function saveBenchBucket (redis: Redis, port: number, url: string): Promise<void> {
  const { redis: r } = config(port, url)
  const keys = createKeys({ queueName: r.queue_name, deadLetterName: r.dead_letter_queue, statePrefix: r.state_prefix })
  await createBucketStore(redis, keys).save({ name: 'bench-bucket', endpoint: 'http://127.0.0.1:9', webhook_url: url, status: 'active' }, 'put')
}

/**
 * Latency without a backlog: a running consumer, events pushed at `perSecond` in batches of
 * ten; each event's latency is enqueue to receipt.
 */
async function pacedRun (redisPort: number, url: string, count: number, perSecond: number): Promise<void> {
  const redis = new Redis({ port: redisPort, enableAutoPipelining: true })
  const blocking = new Redis({ port: redisPort, maxRetriesPerRequest: null })
  const subscriber = new Redis({ port: redisPort })
  await saveBenchBucket(redis, redisPort, url)
  const log = createLogger({ service: 'webhook-consumer', level: 'info', destination: new Writable({ write (_c, _e, cb) { cb() } }) })
  const consumer = await startConsumer({ config: config(redisPort, url), redis, blocking, subscriber, secrets: createMemorySecretStore(), log, consumerId: 'bench-paced' })
  const started = Date.now()
  for (let i = 0; i < count; i += 10) {
    const now = Date.now() / 1000
    await redis.rpush('bench:queue', ...Array.from({ length: 10 }, (_, j) => JSON.stringify(makeEvent('bench-bucket', 100_000 + i + j, { detection_time: now }))))
    const due = started + ((i + 10) / perSecond) * 1000
    await new Promise(resolve => setTimeout(resolve, Math.max(0, due - Date.now())))
  }
  while (await redis.llen('bench:queue') > 0 || consumer.worker.inFlight > 0) await new Promise(resolve => setTimeout(resolve, 20))
  await consumer.close(5000)
  await redis.quit(); await subscriber.quit(); blocking.disconnect()
}

export async function consumerRun (redisPort: number, url: string, count: number): Promise<number> {
  const conns = [new Redis({ port: redisPort, enableAutoPipelining: true }), new Redis({ port: redisPort, maxRetriesPerRequest: null }), new Redis({ port: redisPort })] as const
  // Logs at info as deployed (one line per delivery), written to nowhere.
  const log = createLogger({ service: 'webhook-consumer', level: 'info', destination: new Writable({ write (_c, _e, cb) { cb() } }) })
  const [redis, blocking, subscriber] = conns
  await saveBenchBucket(redis, redisPort, url)
  for (let i = 0; i < count; i += 1000) {
    const now = Date.now() / 1000
    await redis.rpush('bench:queue', ...Array.from({ length: Math.min(1000, count - i) }, (_, j) => JSON.stringify(makeEvent('bench-bucket', i + j, { detection_time: now }))))
  }
  // Throughput counts from the consumer's start (the backlog is queued already); latency
  // counts from each event's enqueue.
  const started = Date.now()
  const consumer = await startConsumer({ config: config(redisPort, url), redis, blocking, subscriber, secrets: createMemorySecretStore(), log, consumerId: 'bench', prefetch: process.env.BENCH_PREFETCH === undefined ? undefined : Number(process.env.BENCH_PREFETCH) })
  while (await redis.llen('bench:queue') > 0 || consumer.worker.inFlight > 0) await new Promise(resolve => setTimeout(resolve, 20))
  await consumer.close(5000)
  await redis.quit(); await subscriber.quit(); blocking.disconnect()
  return started
}

export async function runDeliveryBench () {
  const redisServer = await startRedis()
  const receiver = await startBenchReceiver()
  try {
    const bodies = Array.from({ length: EVENTS }, (_, i) => JSON.stringify({ ...makeEvent('bench-bucket', i, { detection_time: 0 }), retry_count: 1, request_id: crypto.randomUUID(), delivery_attempt_time: new Date().toISOString() }))
    const runs: Array<{ bare: Run, consumer: Run }> = []
    // Alternating runs, each pair close in time: the machine is shared, so the ratio is taken
    // per pair and the median pair is reported.
    // CPU per delivery (this process: the sender and the receiver; the consumer's also counts
    // queueing the backlog) says what a busy machine's scheduling does not.
    const cpuUs = (since: NodeJS.CpuUsage) => { const u = process.cpuUsage(since); return Math.round((u.user + u.system) / EVENTS) }
    for (let rep = 0; rep < REPS; rep++) {
      let cpu = process.cpuUsage()
      const bareStart = await bareLoop(receiver.url, bodies)
      const bare = { ...summary(receiver.reset(), bareStart), cpu_us_per_delivery: cpuUs(cpu) }
      cpu = process.cpuUsage()
      const consumerStart = await consumerRun(redisServer.port, receiver.url, EVENTS)
      const consumer = { ...summary(receiver.reset(), consumerStart), cpu_us_per_delivery: cpuUs(cpu) }
      runs.push({ bare, consumer })
    }
    await pacedRun(redisServer.port, receiver.url, 3000, 1000)
    const pacedReceipt = receiver.reset()
    const paced = { events: pacedReceipt.count, per_second_offered: 1000, p50_ms: percentile(pacedReceipt.latencies, 50), p99_ms: percentile(pacedReceipt.latencies, 99) }
    const ratios = runs.map(r => r.consumer.per_second / r.bare.per_second)
    const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]!
    const best = runs[ratios.indexOf(median)]!
    const result = {
      suite: 'delivery',
      at: new Date().toISOString(),
      node: process.version,
      events: EVENTS,
      concurrency: CONCURRENCY,
      note: 'the whole backlog is queued before the consumer starts: per_second counts from its start to the last receipt; p50/p99 are enqueue to receipt, so they include waiting behind the backlog. bare: a plain undici POST loop sending the same headers and body sizes, per_second from its start, latency from request start',
      runs,
      ratios: ratios.map(r => +r.toFixed(2)),
      consumer: best.consumer,
      bare: best.bare,
      ratio: +median.toFixed(2),
      paced
    }
    writeResult('delivery', result, markdown(result))
    return result
  } finally {
    receiver.server.closeAllConnections()
    receiver.server.close()
    await redisServer.stop()
  }
}

function markdown (r: { events: number, concurrency: number, consumer: Run, bare: Run, ratio: number, ratios: number[], note: string, paced: { events: number, per_second_offered: number, p50_ms: number, p99_ms: number } }): string {
  return [
    '# Delivery benchmark', '',
    `${r.events} events, ${r.concurrency} deliveries in flight, one local keep-alive receiver (median of ${r.ratios.length} alternating pairs).`, '',
    '| | deliveries/s | p50 ms | p99 ms | CPU µs per delivery |', '| --- | --- | --- | --- | --- |',
    `| consumer | ${r.consumer.per_second} | ${r.consumer.p50_ms} | ${r.consumer.p99_ms} | ${r.consumer.cpu_us_per_delivery} |`,
    `| bare undici loop | ${r.bare.per_second} | ${r.bare.p50_ms} | ${r.bare.p99_ms} | ${r.bare.cpu_us_per_delivery} |`, '',
    `Ratio consumer / bare: **${r.ratio}** (pairs: ${r.ratios.join(', ')}; goal >= 0.75).`, '',
    `Without a backlog (${r.paced.events} events offered at ${r.paced.per_second_offered}/s): enqueue to receipt p50 ${r.paced.p50_ms} ms, p99 ${r.paced.p99_ms} ms.`, '', r.note, ''
  ].join('\n')
}

/** The `npm run bench -- delivery` entry point. */
export async function run (): Promise<void> {
  const r = await runDeliveryBench()
  process.stdout.write(`delivery: consumer ${r.consumer.per_second}/s, ${r.consumer.cpu_us_per_delivery} µs CPU each (backlog p50 ${r.consumer.p50_ms} ms, p99 ${r.consumer.p99_ms} ms), bare ${r.bare.per_second}/s, ${r.bare.cpu_us_per_delivery} µs CPU each, ratio ${r.ratio} (pairs ${r.ratios.join(', ')}); paced ${r.paced.per_second_offered}/s: p50 ${r.paced.p50_ms} ms, p99 ${r.paced.p99_ms} ms\n`)
}
