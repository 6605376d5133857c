import { BucketRegistry, createBucketStore, createNetworkPolicy, type SecretStore } from '@internal/buckets'
import type { Config } from '@internal/config'
import { createDeliveryQueue, createHistory, createKeys, createLifecycle, createRecorder, type DeliveryQueue, type Keys, type Lifecycle, type Recorder, type Redis } from '@internal/redis'
import { toError, type Logger, type Registry } from '@internal/telemetry'
import { createBreakers } from './breaker.ts'
import { configuredSchedule } from './backoff.ts'
import type { DeliveryPolicy } from './decide.ts'
import { bothObservers, type DeliveryObserver } from './observer.ts'
import { createEndpointSlots } from './endpoint-slots.ts'
import { createGuardedAgent } from './network-guard.ts'
import { createTokenSource } from './oauth.ts'
import { createTargetResolver } from './target.ts'
import { createRouter, type RouterDeps } from './route.ts'
import { createGoneMarker } from './endpoint-status.ts'
import { postWebhook } from './deliver.ts'
import { createHandler } from './handle.ts'
import { startWorker, type Worker } from './worker.ts'
import { createConsumerMetrics, type ConsumerMetrics } from './metrics.ts'
import { trackEndpoints } from './known-endpoints.ts'
import { subscriptionGauges } from './subscription-gauges.ts'
import { createHistoryObserver } from './history-observer.ts'

/** Entries claimed ahead of free worker slots at most, by default. */
const MAX_PREFETCH = 200

export interface ConsumerDeps {
  config: Config
  /** Commands (settles, scripts, reads). */
  redis: Redis
  /** BLMOVE only. */
  blocking: Redis
  /** SUBSCRIBE only (bucket changes). */
  subscriber: Redis
  secrets: SecretStore
  log: Logger
  registry?: Registry | undefined
  consumerId: string
  now?: () => number
  random?: () => number
  /** First retry's upper bound, ms (tests shorten it). */
  retryBaseMs?: number
  /** Timer periods, ms (tests shorten them). */
  timers?: { heartbeatMs?: number, promoteMs?: number, reapMs?: number }
  /** Told each step of each delivery (the attempt history, the activity stream); default none. */
  observer?: DeliveryObserver | undefined
  /**
   * Entries claimed ahead of free worker slots; default four per worker slot (at most
   * MAX_PREFETCH, at least one batch). Measured with 20 slots and batches of 20 at about 4,000
   * deliveries/s: one batch ahead left a slot without an entry in 26-35 % of the time (claims
   * answer late while the event loop is busy), four per slot in 2-3 %.
   */
  prefetch?: number
}

export interface Consumer {
  keys: Keys
  worker: Worker
  buckets: BucketRegistry
  /** Writes the attempt history and publishes activity in the background. */
  recorder: Recorder
  close (deadlineMs: number): Promise<boolean>
}

/** Wires the consumer from its configuration and connections, and starts claiming. */
export async function startConsumer (deps: ConsumerDeps): Promise<Consumer> {
  const { config, redis, log } = deps
  const now = deps.now ?? Date.now
  const keys = createKeys({ queueName: config.redis.queue_name, deadLetterName: config.redis.dead_letter_queue, statePrefix: config.redis.state_prefix })
  const queue = createDeliveryQueue(redis, keys)
  const store = createBucketStore(redis, keys)
  const buckets = new BucketRegistry({
    store,
    keys,
    subscriber: deps.subscriber,
    checkIntervalMs: config.redis.config_check_interval_ms,
    onError: err => log.warn({ err: toError(err) }, 'bucket registry refresh failed'),
    onSubscription: up => up ? log.info('config subscription up') : log.error('config subscription lost: bucket changes arrive through the periodic version check until it is back')
  })
  await buckets.start()

  const lifecycle = createLifecycle(redis, keys)
  const metrics = deps.registry ? createConsumerMetrics(deps.registry, () => queue.depths(), () => subscriptionGauges(buckets, lifecycle, config.webhook.url)) : undefined
  const wh = config.webhook
  const c = config.consumer
  const endpoints = trackEndpoints(buckets, wh.url)
  // With one receiver behind max_per_endpoint, more workers than its cap would only defer
  // events through Redis (measured: 0.9 deferrals per delivery, 45% less throughput).
  const threadLimit = () => wh.max_per_endpoint * endpoints.count()
  const pool = { size: () => Math.max(1, Math.min(c.webhook_threads, threadLimit())), endpoints: endpoints.count }
  const recorder = createRecorder({
    redis,
    keys,
    history: createHistory(redis, keys, { ttlMs: c.history_ttl * 1000 }),
    now,
    onError: (err, counts) => log.warn({ err, ...counts }, 'attempt history or activity not written')
  })
  const { handle, agent, prune } = createDelivery(deps, keys, queue, { lifecycle, recorder }, { get: n => buckets.get(n), fetch: n => store.get(n) }, pool, metrics)
  const worker = startWorker({
    queue,
    blocking: deps.blocking,
    consumerId: deps.consumerId,
    handle,
    threads: c.webhook_threads,
    batchSize: c.batch_size,
    pollSec: c.polling_interval,
    prefetch: deps.prefetch ?? Math.max(c.batch_size, Math.min(MAX_PREFETCH, 4 * c.webhook_threads)),
    visibilityMs: c.visibility_timeout * 1000,
    now,
    log,
    ...deps.timers,
    onReclaimed: n => metrics?.reclaimed.inc(n),
    threadLimit
  })
  endpoints.onPrune(prune)
  let closing: Promise<boolean> | undefined
  return {
    keys,
    worker,
    buckets,
    recorder,
    close (deadlineMs) {
      closing ??= (async () => {
        const finished = await worker.close(deadlineMs)
        endpoints.close()
        await buckets.close()
        // The last steps' history, unless Redis does not answer within a second.
        await Promise.race([recorder.flush(), new Promise(resolve => setTimeout(resolve, 1000).unref())])
        // Deliveries still running past the deadline are abandoned (their entries return after the
        // visibility timeout), and so are 2xx bodies still draining (their events are settled):
        // close() would wait for them, up to webhook.timeout beyond the deadline.
        await agent.destroy().catch(() => {})
        return finished
      })()
      return closing
    }
  }
}

/** The delivery side: the guarded HTTP agent, tokens, breakers, endpoint caps and the handler. */
function createDelivery (deps: ConsumerDeps, keys: Keys, queue: DeliveryQueue, stores: { lifecycle: Lifecycle, recorder: Recorder }, buckets: RouterDeps['buckets'], pool: { size: () => number, endpoints: () => number }, metrics: ConsumerMetrics | undefined) {
  const { config, redis, log } = deps
  const now = deps.now ?? Date.now
  const wh = config.webhook
  const policy = createNetworkPolicy(wh.allowed_networks)
  const timeoutMs = wh.timeout * 1000
  const agent = createGuardedAgent(policy, { connectTimeoutMs: Math.min(timeoutMs, 5000), connectionsPerOrigin: wh.max_per_endpoint })
  const tokens = createTokenSource({ dispatcher: agent, policy, timeoutMs, now, onFetch: r => metrics?.tokenFetches.inc({ result: r }) })
  const breakers = createBreakers({ threshold: wh.circuit_threshold, resetMs: wh.circuit_reset_time * 1000, now, onStateChange: (e, s) => { metrics?.breakerState(e, s); log.info({ endpoint: e, state: s }, 'circuit breaker state changed') } })
  const slots = createEndpointSlots({ maxPerEndpoint: wh.max_per_endpoint, poolSize: pool.size, knownEndpoints: pool.endpoints, maxDeferMs: Math.min(2000, timeoutMs), now })
  const handle = createHandler({
    queue,
    lifecycle: stores.lifecycle,
    consumerId: deps.consumerId,
    route: createRouter({ buckets, defaultUrl: wh.url }),
    resolveTarget: createTargetResolver({ oauth: config.oauth, signingRegion: config.defaults.signing_region }, deps.secrets, { now }),
    tokens,
    breakers,
    slots,
    post: req => postWebhook(req, { dispatcher: agent, policy, timeoutMs, userAgent: wh.user_agent, now }),
    policy: deliveryPolicy(config, deps.retryBaseMs ?? 1000),
    maxParked: wh.max_parked,
    markGone: createGoneMarker(redis, keys, now),
    observer: bothObservers(deps.observer, createHistoryObserver(stores.recorder, now)),
    metrics,
    log,
    now,
    random: deps.random ?? Math.random
  })
  /** Forgets circuits (and their metric series) and slot timings of origins no bucket uses. */
  const prune = (inUse: Set<string>) => {
    for (const endpoint of breakers.prune(inUse)) metrics?.breakerRemoved(endpoint)
    slots.prune(inUse)
  }
  return { handle, agent, prune }
}

/** The delivery policy from the webhook section (a subscription's retry_schedule replaces its schedule). */
export function deliveryPolicy (config: Config, baseMs: number): DeliveryPolicy {
  const wh = config.webhook
  return {
    schedule: configuredSchedule(wh, baseMs),
    maxRetryAfterMs: wh.max_retry_after * 1000,
    tokenWaitMs: Math.min(wh.circuit_reset_time, wh.max_backoff) * 1000,
    disableAfterMs: wh.disable_after * 1000
  }
}
