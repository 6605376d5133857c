import { randomUUID } from 'node:crypto'
import { before, after } from 'node:test'
import { Writable } from 'node:stream'
import { Redis } from 'ioredis'
import { ConfigFile, BaseEnv, type Config } from '@internal/config'
import { createBucketStore, createMemorySecretStore, bucketSecretNames, type StoredBucket } from '@internal/buckets'
import { createKeys, type Keys } from '@internal/redis'
import { createLogger, createRegistry, type Registry } from '@internal/telemetry'
import { eventId, type ChangeEvent } from '@internal/events'
import { startConsumer, type Consumer, type ConsumerDeps } from '../src/consumer.ts'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { startReceiver, type Receiver } from '../../../test/support/receiver.ts'

export interface HarnessOptions {
  redisPort: number
  webhook?: Record<string, unknown>
  consumer?: Record<string, unknown>
  oauth?: Record<string, unknown>
  buckets?: StoredBucket[]
  secrets?: Record<string, string>
  random?: () => number
  now?: () => number
  retryBaseMs?: number
  consumerId?: string
  observer?: ConsumerDeps['observer']
  /** Use the queue of another harness (a second consumer on the same Redis lists). */
  shared?: { prefix: string }
}

export interface Harness {
  consumer: Consumer
  keys: Keys
  redis: Redis
  prefix: string
  config: Config
  registry: Registry
  logs: Array<Record<string, any>>
  push (...events: Array<ChangeEvent | string>): Promise<void>
  stop (): Promise<void>
}

/** Builds a test configuration: loopback allowed, short timeouts, unique list names. */
export function testConfig (port: number, prefix: string, opts: HarnessOptions): Config {
  const file = ConfigFile.parse({
    redis: { host: '127.0.0.1', port, queue_name: `${prefix}:queue`, dead_letter_queue: `${prefix}:dead` },
    // The exponential schedule of 3 retries (its base shortened by retryBaseMs): the tests of
    // other behaviour need failures to settle in milliseconds, not the default day and more.
    webhook: { allowed_networks: ['127.0.0.0/8'], timeout: 2, max_retries: 3, ...opts.webhook },
    consumer: { polling_interval: 0.2, visibility_timeout: 5, ...opts.consumer },
    oauth: opts.oauth ?? {}
  })
  return { ...file, env: BaseEnv.parse({}), logLevel: 'info', httpPort: 0, httpHost: '127.0.0.1' }
}

/** One consumer in this process against a private redis-server, with captured logs. */
export async function startHarness (opts: HarnessOptions): Promise<Harness> {
  const prefix = opts.shared?.prefix ?? `t:${randomUUID()}`
  const config = testConfig(opts.redisPort, prefix, opts)
  const conn = (extra = {}) => {
    const c = new Redis({ host: '127.0.0.1', port: opts.redisPort, ...extra })
    c.on('error', () => {}) // reconnects are expected when a test kills the server
    return c
  }
  const redis = conn({ enableAutoPipelining: true })
  const blocking = conn({ maxRetriesPerRequest: null })
  const subscriber = conn()
  const store = createBucketStore(redis, createKeysFor(config))
  for (const bucket of opts.buckets ?? []) await store.save(bucket, 'put')
  const secrets = createMemorySecretStore()
  for (const [name, value] of Object.entries(opts.secrets ?? {})) await secrets.set(name, value)
  const logs: Array<Record<string, any>> = []
  const sink = new Writable({ write (chunk, _enc, cb) { for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line)); cb() } })
  const log = createLogger({ service: 'webhook-consumer', level: 'info', destination: sink })
  const registry = createRegistry({ defaults: false })
  const deps: ConsumerDeps = {
    config,
    redis,
    blocking,
    subscriber,
    secrets,
    log,
    registry,
    consumerId: opts.consumerId ?? `c-${randomUUID().slice(0, 8)}`,
    now: opts.now,
    random: opts.random,
    observer: opts.observer,
    retryBaseMs: opts.retryBaseMs ?? 50,
    timers: { heartbeatMs: 200, promoteMs: 20, reapMs: 300 }
  }
  const consumer = await startConsumer(deps)
  return {
    consumer,
    keys: consumer.keys,
    redis,
    prefix,
    config,
    registry,
    logs,
    async push (...events) { if (events.length) await redis.rpush(consumer.keys.queue, ...events.map(e => typeof e === 'string' ? e : JSON.stringify(e))) },
    async stop () {
      await consumer.close(3000)
      await Promise.all([redis.quit(), subscriber.quit()].map(p => p.catch(() => {})))
      blocking.disconnect()
    }
  }
}

function createKeysFor (config: Config): Keys {
  return createKeys({ queueName: config.redis.queue_name, deadLetterName: config.redis.dead_letter_queue, statePrefix: config.redis.state_prefix })
}

/** A change event as the monitor would queue it. */
export function makeEvent (bucket: string, i: number, extra: Partial<ChangeEvent> = {}): ChangeEvent {
  const base = {
    bucket,
    key: `seed/d0000/obj-${String(i).padStart(7, '0')}.dat`,
    region: '127.0.0.1:4569',
    etag: `etag${i}`,
    size: 256,
    last_modified: 1795303151,
    event_type: 'created' as const,
    content_type: 'application/octet-stream',
    metadata: { seq: String(i) },
    detection_time: Date.now() / 1000,
    is_recent: true,
    ...extra
  }
  return { event_id: eventId(base), ...base }
}

export function bucketConfig (name: string, webhookUrl: string, extra: Partial<StoredBucket> = {}): StoredBucket {
  return { name, endpoint: 'http://127.0.0.1:4569', webhook_url: webhookUrl, status: 'active', ...extra }
}

export { bucketSecretNames }

/**
 * A test file's scaffolding: one redis-server for the file, and receivers and harnesses
 * (plus whatever the file adds to `cleanups`) stopped after its last test, newest first.
 */
export function harnessSuite () {
  let server: RedisServer | undefined
  const cleanups: Array<() => Promise<void>> = []
  before(async () => { server = await startRedis() })
  after(async () => { for (const c of cleanups.reverse()) await c(); await server?.stop() })
  return {
    cleanups,
    redisPort: () => server!.port,
    name: () => `b-${randomUUID().slice(0, 8)}`,
    async receiver (): Promise<Receiver> { const r = await startReceiver(); cleanups.push(() => r.close()); return r },
    async harness (opts: Omit<HarnessOptions, 'redisPort'>): Promise<Harness> {
      const h = await startHarness({ redisPort: server!.port, random: () => 0.5, ...opts })
      cleanups.push(() => h.stop())
      return h
    },
    deadRecords: async (h: Harness) => (await h.redis.lrange(h.keys.deadLetter, 0, -1)).map(r => JSON.parse(r))
  }
}
