import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import { ConfigError } from '@internal/config'
import { BucketRegistry, createBucketStore, createNetworkPolicy, createSecretStore, createSecretWriter, invalidateSecretsOnChange, migrateLegacySecretNames } from '@internal/buckets'
import { awaitRedis, checkRedis, createHistory, createKeys, createRecorder, createRedis, createSubscriber, createWriteDeadline, watchMasterChanges } from '@internal/redis'
import { createLogger, createRegistry, registerHealthRoutes, closeWithDeadline, startupMessage, toError, unsupportedNode, trackConfigSubscription, Counter } from '@internal/telemetry'
import { loadMonitorConfig } from './config.ts'
import { loadConfiguredBuckets } from './bucket-bootstrap.ts'
import { watchRedisWipes } from './redis-wipe.ts'
import { createMonitorMetrics } from './metrics.ts'
import { monitorScripts } from './scripts.ts'
import { S3ClientCache } from './s3-clients.ts'
import { LimiterMap } from './limiter.ts'
import { RequestBudgets } from './request-budget.ts'
import { HeadFailures } from './head-failures.ts'
import { Scheduler } from './scheduler.ts'
import { createResync } from './resync.ts'
import { checkConfiguredBucketNetworks, createApiRedis, registerApi } from './api/index.ts'
import { adoptOriginal } from './adopt.ts'
import { recordDetections } from './detections.ts'

// The only file that reads the environment, listens, handles signals and exits.

// An S3 request still running after this long is taken for hung (they normally answer in well
// under a second): it stops counting against its region's limit, so the other buckets go on.
const SLOW_REQUEST_MS = 5000

// One line naming the cause (a configuration error lists each problem below it), no stack trace.
function fail (err: unknown): never {
  process.stderr.write(`bucket-monitor: cannot start: ${err instanceof ConfigError ? err.message : startupMessage(err)}\n`)
  process.exit(1)
}

const nodeProblem = unsupportedNode()
if (nodeProblem) fail(new Error(nodeProblem))
const { config, env } = (() => { try { return loadMonitorConfig(process.env) } catch (err) { return fail(err) } })()
const log = createLogger({ service: 'bucket-monitor', level: config.logLevel })
const promRegistry = createRegistry()
const usesSentinel = config.redis.sentinel_host !== null
const owner = env.MONITOR_ID ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`

const redis = createRedis(config.redis)
const subscriber = createSubscriber(config.redis)
const apiRedis = createApiRedis(config)
const activitySubscriber = createRedis(config.redis, { enableReadyCheck: false })
for (const [name, conn] of Object.entries({ redis, subscriber, api: apiRedis, activity: activitySubscriber })) {
  conn.on('error', err => log.warn({ err: toError(err), connection: name }, 'redis connection error'))
}
const failovers = new Counter({ name: 'watch_folder_redis_failovers_total', help: 'Redis master changes seen (Sentinel failovers)', registers: [promRegistry] })
watchMasterChanges(redis, change => { failovers.inc(); log.warn(change, 'redis master changed') })
await awaitRedis(redis, config.env.STARTUP_REDIS_TIMEOUT_MS).catch(fail)

const keys = createKeys({ queueName: config.redis.queue_name, deadLetterName: config.redis.dead_letter_queue, statePrefix: config.redis.state_prefix })
const secrets = (() => { try { return createSecretStore(env, redis, keys) } catch (err) { return fail(err) } })()
const store = createBucketStore(redis, keys)
await adoptOriginal({ config, redis, keys, store, secrets, log: log.child({ component: 'adopt' }) }).catch(fail)
const renamed = await store.listNames().then(names => migrateLegacySecretNames(secrets, names)).catch(fail)
if (renamed.moved.length > 0) log.info({ secrets: renamed.moved }, 'dotted buckets\' secrets moved to their new names')
if (renamed.shared.length > 0) log.warn({ secrets: renamed.shared }, 'these old secret names are also another bucket\'s: both buckets hold that value until one is set again through the API')
// The SSRF rule holds for config-file buckets as for the API's: a refused address stops start-up.
const refused = await checkConfiguredBucketNetworks(config)
if (refused.length > 0) fail(new ConfigError(refused.map(p => `${p} (list its network in webhook.allowed_networks to allow it)`)))
const loaded = await loadConfiguredBuckets({ config, store, secrets, now: Date.now }).catch(fail)
const registry = new BucketRegistry({
  store,
  keys,
  subscriber,
  checkIntervalMs: config.redis.config_check_interval_ms,
  onError: err => log.warn({ err: toError(err) }, 'bucket registry refresh failed'),
  onSubscription: up => up ? log.info('config subscription up') : log.error({ checkIntervalMs: config.redis.config_check_interval_ms }, 'config subscription lost: bucket changes arrive through the periodic version check until it is back')
})
trackConfigSubscription(promRegistry, () => registry.subscribed)
invalidateSecretsOnChange(registry, secrets)
await registry.start().catch(fail)
const wipeWatch = await watchRedisWipes({ config, redis, keys, store, secrets, log: log.child({ component: 'redis' }), metrics: promRegistry }).catch(fail)

const metrics = createMonitorMetrics(promRegistry, () => scheduler.stuckScans())
const par = config.parallel
const clients = new S3ClientCache({
  signingRegion: config.defaults.signing_region,
  policy: createNetworkPolicy(config.webhook.allowed_networks), // checked again at every connect: DNS may have changed since the add
  connectTimeoutMs: par.s3_connect_timeout * 1000,
  requestTimeoutMs: par.s3_request_timeout * 1000,
  onHit: () => metrics.clientCacheHits.inc(),
  onMiss: () => metrics.clientCacheMisses.inc()
})
const recorder = createRecorder({
  redis,
  keys,
  history: createHistory(redis, keys, { ttlMs: config.consumer.history_ttl * 1000 }),
  now: Date.now,
  // A first scan commits pages of up to 1,000 events back to back; they wait here, not in the scan.
  maxPending: 50_000,
  onError: (err, counts) => log.warn({ err, ...counts }, 'attempt history or activity not written')
})
const scheduler = new Scheduler({
  redis,
  keys,
  scripts: monitorScripts(redis),
  log: log.child({ component: 'scanner' }),
  metrics,
  owner,
  registry,
  secrets,
  clients,
  pageSize: config.defaults.max_objects_per_batch,
  headFailures: new HeadFailures(),
  stateTtlSec: config.redis.ttl,
  onEvents: recordDetections(recorder, Date.now),
  waitReplicas: config.redis.wait_replicas,
  waitTimeoutMs: config.redis.wait_timeout_ms,
  regions: new LimiterMap(par.rate_limit_per_region, { perBucket: par.s3_requests_per_bucket, slowAfterMs: Math.min(SLOW_REQUEST_MS, par.s3_request_timeout * 1000) }),
  deadlines: { scanMs: par.scan_timeout * 1000, requestMs: par.s3_request_deadline * 1000 },
  onDetectionLag: (bucket, seconds) => metrics.detectionLag.observe({ bucket }, seconds),
  budgets: new RequestBudgets({
    redis,
    keys,
    limitOf: name => registry.get(name)?.max_requests_per_second ?? par.max_requests_per_second_per_bucket,
    onRate: (bucket, rate) => metrics.requestRate.set({ bucket }, rate),
    onThrottled: bucket => metrics.throttled.inc({ bucket }),
    onError: err => log.warn({ err: toError(err) }, 'request budget update failed')
  }),
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
    const stuck = scheduler.stuckScans()
    const ready = !closing && health.redis === 'ok' && health.sentinel !== 'error' && secretStore.ok && stuck === 0
    // A lost config subscription is shown but keeps the replica ready: the periodic version
    // check bounds its staleness and every commit reads the notification switch from Redis.
    // A wiped Redis is shown (from the first time this replica saw it) but keeps the replica ready:
    // the config file's buckets are back at once, and the API must stay reachable to add the others.
    return {
      ready,
      ...health,
      ...wipeWatch.readinessDetail(),
      secrets: secretStore.ok ? 'ok' : 'error',
      config_subscription: registry.subscribed ? 'ok' : 'down',
      closing,
      stuck_scans: stuck,
      buckets_timing_out: scheduler.timingOut
    }
  }
})
await registerApi(app, {
  config,
  log: log.child({ component: 'api' }),
  redis: apiRedis,
  keys,
  registry,
  secrets,
  secretWriter: createSecretWriter(env, apiRedis, keys, createWriteDeadline(apiRedis, config.api.redis_timeout_ms)),
  // Resyncs go over the API's bounded connection: answered or refused in bounded time, never
  // applied after a 503, and never queued behind a scan's commands on the scanner's connection.
  scans: createResync({ redis: apiRedis, keys, now: Date.now, deadline: createWriteDeadline(apiRedis, config.api.redis_timeout_ms), wake: () => scheduler.wake() }),
  metrics: promRegistry,
  activitySubscriber,
  auth: { jwtSecret: env.JWT_SECRET, clientId: env.API_CLIENT_ID, clientSecret: env.API_CLIENT_SECRET }
}).catch(fail)
await app.listen({ host: config.httpHost, port: config.httpPort }).catch(fail)
log.info({ owner, host: config.httpHost, port: config.httpPort, buckets: registry.size, fromConfig: loaded.length }, 'bucket monitor started')

async function shutdown (signal: string): Promise<void> {
  if (closing) return
  closing = true
  log.info({ signal }, 'stopping: no new buckets, aborting scans, releasing leases')
  const finished = await closeWithDeadline([
    () => scheduler.close(),
    () => recorder.flush(),
    () => app.close(),
    () => registry.close(),
    async () => wipeWatch.close(),
    async () => clients.close(),
    () => subscriber.quit(),
    () => activitySubscriber.quit(),
    () => apiRedis.quit(),
    () => redis.quit()
  ], config.env.SHUTDOWN_TIMEOUT_MS, err => log.warn({ err: toError(err) }, 'close step failed'))
  if (!finished) log.warn({ deadlineMs: config.env.SHUTDOWN_TIMEOUT_MS }, 'shutdown deadline passed; leases left run out by themselves')
  process.exit(0)
}
process.once('SIGTERM', () => { void shutdown('SIGTERM') })
process.once('SIGINT', () => { void shutdown('SIGINT') })
