import { randomBytes } from 'node:crypto'
import { startRedis, type RedisServer } from './redis-server.ts'
import { startSentinelTopology, type SentinelTopology } from './sentinel.ts'
import { startFakeS3, type FakeS3 } from './fake-s3.ts'
import { startReceiver, type Receiver, type ReceivedRequest } from './receiver.ts'
import { spawnService, type ServiceProcess } from './services.ts'

export interface PipelineOptions {
  sentinel?: boolean
  pollingIntervalSec?: number
  /** Merged over the generated config (sections are merged one level deep). */
  config?: Record<string, Record<string, unknown>>
  /** Extra fields of the one bucket (webhook_auth, first_scan, ...). */
  bucket?: Record<string, unknown>
  /** More buckets, each given over the one bucket's fields (name, endpoint, credentials, webhook). */
  extraBuckets?: Array<Record<string, unknown>>
}

/**
 * The whole pipeline on loopback: a private Redis (or a Sentinel topology), the in-repo S3 server,
 * a webhook receiver that counts deliveries by event_id, and monitor and consumer processes
 * running their real main.ts. Every process is stopped by stop().
 */
export interface Pipeline {
  bucket: string
  s3: FakeS3
  receiver: Receiver
  redis?: RedisServer
  sentinel?: SentinelTopology
  monitors: ServiceProcess[]
  consumers: ServiceProcess[]
  /** Deliveries per event_id. */
  deliveries: Map<string, number>
  /** Distinct deliveries as `event_type key`. */
  changesSeen: Set<string>
  /** The services' environment (the API client's credentials among it). */
  env: Record<string, string>
  startMonitor (name?: string): Promise<ServiceProcess>
  startConsumer (name?: string): Promise<ServiceProcess>
  duplicates (): number
  stop (): Promise<void>
}

export async function startPipeline (opts: PipelineOptions = {}): Promise<Pipeline> {
  const sentinel = opts.sentinel ? await startSentinelTopology() : undefined
  const redis = sentinel ? undefined : await startRedis()
  const s3 = await startFakeS3()
  const receiver = await startReceiver()
  const bucket = `pipe-${randomBytes(3).toString('hex')}`
  s3.createBucket(bucket)
  const env = {
    SECRETS_KEY: randomBytes(32).toString('base64'),
    JWT_SECRET: randomBytes(32).toString('base64'),
    API_CLIENT_ID: 'pipeline',
    API_CLIENT_SECRET: randomBytes(16).toString('hex'),
    LOG_LEVEL: 'info',
    SHUTDOWN_TIMEOUT_MS: '5000'
  }
  const config = buildConfig(opts, { redis, sentinel, endpoint: s3.endpoint, bucket, webhookUrl: receiver.url })
  const deliveries = new Map<string, number>()
  const changesSeen = new Set<string>()
  const defaultRespond = receiver.respond
  receiver.respond = (req: ReceivedRequest, res) => {
    deliveries.set(req.json.event_id, (deliveries.get(req.json.event_id) ?? 0) + 1)
    changesSeen.add(`${req.json.event_type} ${req.json.key}`)
    return defaultRespond(req, res)
  }
  const pipeline: Pipeline = {
    bucket,
    s3,
    receiver,
    redis,
    sentinel,
    monitors: [],
    consumers: [],
    deliveries,
    changesSeen,
    env,
    async startMonitor (name = `monitor-${pipeline.monitors.length + 1}`) {
      const m = await spawnService('monitor', name, config, { ...env, MONITOR_ID: `${name}-${randomBytes(2).toString('hex')}` })
      pipeline.monitors.push(m)
      return m
    },
    async startConsumer (name = `consumer-${pipeline.consumers.length + 1}`) {
      const c = await spawnService('consumer', name, config, { ...env, CONSUMER_ID: `${name}-${randomBytes(2).toString('hex')}` })
      pipeline.consumers.push(c)
      return c
    },
    duplicates: () => [...deliveries.values()].reduce((sum, n) => sum + n - 1, 0),
    async stop () {
      await Promise.all([...pipeline.monitors, ...pipeline.consumers].map(p => p.kill('SIGKILL')))
      await receiver.close()
      await s3.close()
      await redis?.stop()
      await sentinel?.stop()
    }
  }
  return pipeline
}

interface Targets { redis?: RedisServer, sentinel?: SentinelTopology, endpoint: string, bucket: string, webhookUrl: string }

function buildConfig (opts: PipelineOptions, t: Targets): Record<string, unknown> {
  const redis = t.sentinel
    ? { sentinel_host: t.sentinel.sentinelHosts, master_name: t.sentinel.masterName }
    : { host: '127.0.0.1', port: t.redis!.port }
  const base: Record<string, Record<string, unknown>> = {
    defaults: { polling_interval: opts.pollingIntervalSec ?? 1 },
    parallel: { lease_ttl: 5 },
    redis,
    webhook: { allowed_networks: ['127.0.0.0/8'], timeout: 5, circuit_reset_time: 1, max_retries: 5, backoff_factor: 2, max_backoff: 2 },
    consumer: { visibility_timeout: 3, polling_interval: 0.2, webhook_threads: 20 }
  }
  for (const [section, values] of Object.entries(opts.config ?? {})) base[section] = { ...base[section], ...values }
  const bucket = {
    name: t.bucket,
    endpoint: t.endpoint,
    access_key: 'pipeline-access',
    secret_key: 'pipeline-secret-key',
    webhook_url: t.webhookUrl,
    ...opts.bucket
  }
  return { ...base, buckets: [bucket, ...(opts.extraBuckets ?? []).map(extra => ({ ...bucket, ...extra }))] }
}

/** The monitor's API as the pipeline's client: a token for its API client, then calls answering status and JSON. */
export async function pipelineApi (p: Pipeline) {
  const base = `http://127.0.0.1:${p.monitors[0]!.port}`
  const tokenRes = await fetch(`${base}/api/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: p.env.API_CLIENT_ID, client_secret: p.env.API_CLIENT_SECRET }) })
  const { access_token: token } = await tokenRes.json() as { access_token: string }
  return async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) }, ...(body !== undefined && { body: JSON.stringify(body) }) })
    return { status: res.status, json: await res.json() as any }
  }
}
