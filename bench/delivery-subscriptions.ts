import { Writable } from 'node:stream'
import { Redis } from 'ioredis'
import { ConfigFile, BaseEnv, type Config } from '@internal/config'
import { createBucketStore, createMemorySecretStore, type StoredSubscription } from '@internal/buckets'
import { createKeys } from '@internal/redis'
import { createLogger } from '@internal/telemetry'
import { startRedis } from '../test/support/redis-server.ts'
import { makeEvent } from '../services/consumer/test/harness.ts'
import { startConsumer } from '../services/consumer/src/consumer.ts'
import { bareLoop, startBenchReceiver } from './delivery.ts'
import { writeResult } from './report.ts'

// `npm run bench -- delivery` also runs this: one bucket with 1, 3 and 10 subscriptions (the
// default plus others, each to its own receiver origin), the same number of deliveries in each
// variant, through a real consumer; against a bare undici POST loop at the same concurrency.

const DELIVERIES = Number(process.env.BENCH_DELIVERY_EVENTS ?? 20_000)
const CONCURRENCY = 20
const REPS = Number(process.env.BENCH_SUBSCRIPTION_REPS ?? 3)
const VARIANTS = [1, 3, 10]

function config (port: number): Config {
  const file = ConfigFile.parse({
    redis: { host: '127.0.0.1', port, queue_name: 'benchsub:queue', dead_letter_queue: 'benchsub:dead' },
    webhook: { allowed_networks: ['127.0.0.0/8'], max_per_endpoint: CONCURRENCY },
    consumer: { webhook_threads: CONCURRENCY, batch_size: CONCURRENCY }
  })
  return { ...file, env: BaseEnv.parse({}), logLevel: 'info', httpPort: 0, httpHost: '127.0.0.1' }
}

type BenchReceiver = Awaited<ReturnType<typeof startBenchReceiver>>

async function consumerRun (redisPort: number, receivers: BenchReceiver[], events: number): Promise<{ seconds: number, deliveries: number }> {
  const cfg = config(redisPort)
  const [redis, blocking, subscriber] = [new Redis({ port: redisPort, enableAutoPipelining: true }), new Redis({ port: redisPort, maxRetriesPerRequest: null }), new Redis({ port: redisPort })] as const
  const keys = createKeys({ queueName: cfg.redis.queue_name, deadLetterName: cfg.redis.dead_letter_queue, statePrefix: cfg.redis.state_prefix })
  const subscriptions: StoredSubscription[] = receivers.slice(1).map((r, i) => ({ id: `sub-${i + 1}`, webhook_url: r.url, events: ['created', 'updated', 'detected', 'deleted'], format: 'original', enabled: true }))
  await createBucketStore(redis, keys).save({ name: 'bench-bucket', endpoint: 'http://127.0.0.1:9', webhook_url: receivers[0]!.url, status: 'active', subscriptions }, 'put')
  for (let i = 0; i < events; i += 1000) {
    const now = Date.now() / 1000
    await redis.rpush(keys.queue, ...Array.from({ length: Math.min(1000, events - i) }, (_, j) => JSON.stringify(makeEvent('bench-bucket', i + j, { detection_time: now }))))
  }
  const log = createLogger({ service: 'webhook-consumer', level: 'info', destination: new Writable({ write (_c, _e, cb) { cb() } }) })
  const started = Date.now()
  const consumer = await startConsumer({ config: cfg, redis, blocking, subscriber, secrets: createMemorySecretStore(), log, consumerId: 'bench-subs' })
  while (await redis.llen(keys.queue) > 0 || consumer.worker.inFlight > 0) await new Promise(resolve => setTimeout(resolve, 20))
  await consumer.close(5000)
  await redis.quit(); await subscriber.quit(); blocking.disconnect()
  const receipts = receivers.map(r => r.reset())
  const lastAt = Math.max(...receipts.map(r => r.lastAt))
  return { seconds: (lastAt - started) / 1000, deliveries: receipts.reduce((n, r) => n + r.count, 0) }
}

export async function run (): Promise<void> {
  const redisServer = await startRedis()
  const receivers = await Promise.all(Array.from({ length: Math.max(...VARIANTS) }, () => startBenchReceiver()))
  try {
    const bodies = Array.from({ length: DELIVERIES }, (_, i) => JSON.stringify({ ...makeEvent('bench-bucket', i, { detection_time: 0 }), retry_count: 1, request_id: crypto.randomUUID(), delivery_attempt_time: new Date().toISOString() }))
    const variants = []
    for (const subs of VARIANTS) {
      const pairs: Array<{ consumer: number, bare: number }> = []
      for (let rep = 0; rep < REPS; rep++) {
        const bareStart = await bareLoop(receivers[0]!.url, bodies)
        const bareReceipt = receivers[0]!.reset()
        const bare = bareReceipt.count / ((bareReceipt.lastAt - bareStart) / 1000)
        const c = await consumerRun(redisServer.port, receivers.slice(0, subs), Math.floor(DELIVERIES / subs))
        pairs.push({ consumer: c.deliveries / c.seconds, bare })
      }
      const ratios = pairs.map(p => p.consumer / p.bare).sort((a, b) => a - b)
      const median = ratios[Math.floor(ratios.length / 2)]!
      const pair = pairs.find(p => p.consumer / p.bare === median)!
      variants.push({ subscriptions: subs, deliveries_per_second: Math.round(pair.consumer), bare_per_second: Math.round(pair.bare), ratio: +median.toFixed(2), ratios: ratios.map(r => +r.toFixed(2)) })
      process.stdout.write(`delivery, ${subs} subscription(s) per bucket: consumer ${Math.round(pair.consumer)} deliveries/s, bare undici ${Math.round(pair.bare)}/s, ratio ${median.toFixed(2)}\n`)
    }
    const result = { suite: 'delivery-subscriptions', at: new Date().toISOString(), node: process.version, deliveries: DELIVERIES, concurrency: CONCURRENCY, variants }
    writeResult('delivery-subscriptions', result, [
      '# Delivery with several subscriptions per bucket', '',
      `${DELIVERIES} deliveries per variant (events = deliveries / subscriptions), ${CONCURRENCY} in flight, one consumer process; each subscription its own local keep-alive receiver. Median of ${REPS} alternating pairs.`, '',
      '| subscriptions | consumer deliveries/s | bare undici loop/s | ratio |', '| --- | --- | --- | --- |',
      ...variants.map(v => `| ${v.subscriptions} | ${v.deliveries_per_second} | ${v.bare_per_second} | ${v.ratio} |`), ''
    ].join('\n'))
  } finally {
    for (const r of receivers) { r.server.closeAllConnections(); r.server.close() }
    await redisServer.stop()
  }
}
