import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import { ConfigError } from '@internal/config'
import { BucketRegistry, createBucketStore, createSecretStore, invalidateSecretsOnChange } from '@internal/buckets'
import { checkRedis, createKeys, createRedis, watchMasterChanges } from '@internal/redis'
import { createLogger, createRegistry, registerHealthRoutes, closeWithDeadline, toError, unsupportedNode, Counter } from '@internal/telemetry'
import { loadMonitorConfig } from './config.ts'
import { loadConfiguredBuckets } from './bucket-bootstrap.ts'
import { createMonitorMetrics } from './metrics.ts'
import { monitorScripts } from './scripts.ts'
import { S3ClientCache } from './s3-clients.ts'
import { LimiterMap } from './limiter.ts'
import { Scheduler } from './scheduler.ts'
import { checkConfiguredBucketNetworks, createApiRedis, registerApi } from './api/index.ts'
import { adoptOriginal } from './adopt.ts'
import { guardRegexBacktracking } from './patterns.ts'

// The only file that reads the environment, listens, handles signals and exits.

function fail (err: unknown): never {
  const message = err instanceof ConfigError ? err.message : toError(err).message
  process.stderr.write(`bucket-monitor: cannot start: ${message}\n`)
  process.exit(1)
}

const nodeProblem = unsupportedNode()
if (nodeProblem) fail(new Error(nodeProblem))
const { config, env } = (() => { try { return loadMonitorConfig(process.env) } catch (err) { return fail(err) } })()
guardRegexBacktracking() // include/exclude patterns come from API users and the config file
const log = createLogger({ service: 'bucket-monitor', level: config.logLevel })
const promRegistry = createRegistry({ service: 'bucket-monitor' })
const usesSentinel = config.redis.sentinel_host !== null
const owner = env.MONITOR_ID ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`

const redis = createRedis(config.redis)
const subscriber = createRedis(config.redis)
const apiRedis = createApiRedis(config)
for (const [name, conn] of Object.entries({ redis, subscriber, api: apiRedis })) {
  conn.on('error', err => log.warn({ err: toError(err), connection: name }, 'redis connection error'))
}
const failovers = new Counter({ name: 'monitor_redis_failovers_total', help: 'Redis master changes seen (Sentinel failovers)', registers: [promRegistry] })
watchMasterChanges(redis, change => { failovers.inc(); log.warn(change, 'redis master changed') })

const keys = createKeys({ queueName: config.redis.queue_name, deadLetterName: config.redis.dead_letter_queue, statePrefix: config.redis.state_prefix })
const secrets = (() => { try { return createSecretStore(env, redis, keys) } catch (err) { return fail(err) } })()
const store = createBucketStore(redis, keys)
await adoptOriginal({ config, redis, keys, store, secrets, log: log.child({ component: 'adopt' }) }).catch(fail)
// The SSRF rule holds for config-file buckets as for the API's: a refused address stops start-up.
const refused = await checkConfiguredBucketNetworks(config)
if (refused.length > 0) fail(new ConfigError(refused.map(p => `${p} (list its network in webhook.allowed_networks to allow it)`)))
const loaded = await loadConfiguredBuckets({ config, store, secrets, now: Date.now }).catch(fail)
const registry = new BucketRegistry({ store, keys, subscriber, onError: err => log.warn({ err: toError(err) }, 'bucket registry refresh failed') })
invalidateSecretsOnChange(registry, secrets)
await registry.start()

const metrics = createMonitorMetrics(promRegistry, () => redis.llen(keys.queue))
const clients = new S3ClientCache({ signingRegion: config.defaults.signing_region, onHit: () => metrics.clientCacheHits.inc(), onMiss: () => metrics.clientCacheMisses.inc() })
const scheduler = new Scheduler({
  redis, keys, scripts: monitorScripts(redis), log: log.child({ component: 'scanner' }), metrics, owner, registry, secrets, clients,
  pageSize: config.defaults.max_objects_per_batch,
  stateTtlSec: config.redis.ttl,
  waitReplicas: config.redis.wait_replicas,
  waitTimeoutMs: config.redis.wait_timeout_ms,
  regions: new LimiterMap(config.parallel.rate_limit_per_region),
  maxWorkers: config.parallel.max_workers,
  staggerMethod: config.parallel.stagger_method,
  leaseTtlMs: config.parallel.lease_ttl * 1000,
  defaults: { pollingIntervalSec: config.defaults.polling_interval, firstScan: config.defaults.first_scan, signingRegion: config.defaults.signing_region },
  now: Date.now,
  random: Math.random
})
scheduler.start()

let closing = false
const app = Fastify({ logger: false, bodyLimit: config.api.body_limit_bytes, trustProxy: config.api.trust_proxy })
registerHealthRoutes(app, {
  registry: promRegistry,
  readiness: async () => {
    const health = await checkRedis(redis, usesSentinel)
    const secretStore = secrets.health()
    const ready = !closing && health.redis === 'ok' && health.sentinel !== 'error' && secretStore.ok
    return { ready, ...health, secrets: secretStore.ok ? 'ok' : 'error', closing }
  }
})
await registerApi(app, {
  config, log: log.child({ component: 'api' }), redis: apiRedis, keys, registry, secrets, scans: scheduler, metrics: promRegistry,
  auth: { jwtSecret: env.JWT_SECRET, clientId: env.API_CLIENT_ID, clientSecret: env.API_CLIENT_SECRET }
})
await app.listen({ host: '0.0.0.0', port: config.httpPort })
log.info({ owner, port: config.httpPort, buckets: registry.size, fromConfig: loaded.length }, 'bucket monitor started')

async function shutdown (signal: string): Promise<void> {
  if (closing) return
  closing = true
  log.info({ signal }, 'stopping: no new buckets, aborting scans, releasing leases')
  const finished = await closeWithDeadline([
    () => scheduler.close(),
    () => app.close(),
    () => registry.close(),
    async () => clients.close(),
    () => subscriber.quit(),
    () => apiRedis.quit(),
    () => redis.quit()
  ], config.env.SHUTDOWN_TIMEOUT_MS, err => log.warn({ err: toError(err) }, 'close step failed'))
  if (!finished) log.warn({ deadlineMs: config.env.SHUTDOWN_TIMEOUT_MS }, 'shutdown deadline passed; leases left run out by themselves')
  process.exit(0)
}
process.once('SIGTERM', () => { void shutdown('SIGTERM') })
process.once('SIGINT', () => { void shutdown('SIGINT') })
