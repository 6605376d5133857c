import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import { ConfigError } from '@internal/config'
import { createSecretStore, invalidateSecretsOnChange } from '@internal/buckets'
import { awaitRedis, checkRedis, createKeys, createRedis, createSubscriber, RedisWipeWatch } from '@internal/redis'
import { createLogger, createRegistry, registerHealthRoutes, closeWithDeadline, startupMessage, toError, unsupportedNode, trackConfigSubscription, Counter } from '@internal/telemetry'
import { loadConsumerConfig } from './config.ts'
import { startConsumer } from './consumer.ts'

// The only file that reads the environment, listens, handles signals and exits.

// One line naming the cause (a configuration error lists each problem below it), no stack trace.
function fail (err: unknown): never {
  process.stderr.write(`webhook-consumer: cannot start: ${err instanceof ConfigError ? err.message : startupMessage(err)}\n`)
  process.exit(1)
}

const nodeProblem = unsupportedNode()
if (nodeProblem) fail(new Error(nodeProblem))
const { config, env } = (() => { try { return loadConsumerConfig(process.env) } catch (err) { return fail(err) } })()
const log = createLogger({ service: 'webhook-consumer', level: config.logLevel })
const registry = createRegistry()
const usesSentinel = config.redis.sentinel_host !== null
const consumerId = env.CONSUMER_ID ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`

const redis = createRedis(config.redis, { enableAutoPipelining: true })
// A blocked BLMOVE must not be failed by a retry limit; a failover ends it with UNBLOCKED, which the loop retries.
const blocking = createRedis(config.redis, { maxRetriesPerRequest: null })
const subscriber = createSubscriber(config.redis)
for (const [name, conn] of Object.entries({ redis, blocking, subscriber })) {
  conn.on('error', err => log.warn({ err: toError(err), connection: name }, 'redis connection error'))
}
await awaitRedis(redis, config.env.STARTUP_REDIS_TIMEOUT_MS).catch(fail)
const keys = createKeys({ queueName: config.redis.queue_name, deadLetterName: config.redis.dead_letter_queue, statePrefix: config.redis.state_prefix })
const secrets = (() => { try { return createSecretStore(env, redis, keys) } catch (err) { return fail(err) } })()
const consumer = await startConsumer({ config, redis, blocking, subscriber, secrets, log, registry, consumerId }).catch(fail)
// A rotated signing or OAuth client secret is read fresh at once, not after the cache's TTL.
invalidateSecretsOnChange(consumer.buckets, secrets)
const wipes = new Counter({ name: 'watch_folder_redis_wiped_total', help: 'Times this replica found Redis emptied (its instance marker gone or replaced)', registers: [registry] })
const wipeWatch = new RedisWipeWatch({
  redis,
  key: keys.instanceMarker,
  intervalMs: config.redis.config_check_interval_ms,
  onError: err => log.warn({ err: toError(err) }, 'redis wipe check failed'),
  onWiped: () => { wipes.inc(); log.error('redis lost its data (instance marker gone): queued events and bucket configs written before are gone') }
})
await wipeWatch.start().catch(fail)
trackConfigSubscription(registry, () => consumer.buckets.subscribed)
let closing = false

const app = Fastify({ logger: false })
registerHealthRoutes(app, {
  registry,
  readiness: async () => {
    const health = await checkRedis(redis, usesSentinel)
    // A lost config subscription and a wiped Redis are shown but keep the replica ready: the
    // periodic version check bounds the staleness, and delivering what is queued now still works.
    return { ready: !closing && health.redis === 'ok' && health.sentinel !== 'error', ...health, ...wipeWatch.readinessDetail(), config_subscription: consumer.buckets.subscribed ? 'ok' : 'down', closing }
  }
})
await app.listen({ host: config.httpHost, port: config.httpPort }).catch(fail)
log.info({ consumerId, host: config.httpHost, port: config.httpPort }, 'webhook consumer started')

async function shutdown (signal: string): Promise<void> {
  if (closing) return
  closing = true
  log.info({ signal }, 'stopping: no new claims, finishing in-flight deliveries')
  const deadline = config.env.SHUTDOWN_TIMEOUT_MS
  const finished = await consumer.close(deadline)
  if (!finished) log.warn({ deadlineMs: deadline }, 'in-flight deliveries did not finish in time; they return to the queue after the visibility timeout')
  await closeWithDeadline([
    () => app.close(),
    async () => wipeWatch.close(),
    () => subscriber.quit(),
    () => redis.quit()
  ], 2000, err => log.warn({ err: toError(err) }, 'close step failed'))
  blocking.disconnect()
  process.exit(0)
}
process.once('SIGTERM', () => { void shutdown('SIGTERM') })
process.once('SIGINT', () => { void shutdown('SIGINT') })
