import type { FastifyInstance } from 'fastify'
import fastifyRateLimit from '@fastify/rate-limit'
import { boundedRedisOptions, createDeadLetters, createHistory, createLifecycle, createRedis, createSubscriptionCleanup, createWriteDeadline, type DeadLetters, type Redis, type Keys } from '@internal/redis'
import { createBucketStore, createNetworkPolicy, writeThrough, type BucketRegistry, type CachedSecretStore, type SecretStore } from '@internal/buckets'
import type { Config } from '@internal/config'
import type { Logger, Registry } from '@internal/telemetry'
import { bearerHook, createAuth, type ApiClientEntry } from './auth.ts'
import { redisRateLimitStore } from './rate-limit.ts'
import { createRefusalLog } from './refusal-log.ts'
import { createNetworkGuard, type Lookup } from './network-guard.ts'
import { createCredentialCheck, type CredentialCheck } from './credential-check.ts'
import { createBucketLock } from './lock.ts'
import { ApiError, installErrorHandler } from './errors.ts'
import { installFormParser, installJsonParser } from './body-parsers.ts'
import { createApiMetrics } from './metrics.ts'
import { TOKEN_WINDOW_MS, tokenRoute } from './token-route.ts'
import { bucketRoutes } from './bucket-routes.ts'
import { notificationRoutes } from './notification-routes.ts'
import { deadLetterRoutes } from './dead-letter-routes.ts'
import { subscriptionRoutes } from './subscription-routes.ts'
import { eventRoutes } from './event-routes.ts'
import { activityRoute } from './activity-route.ts'
import { createActivityHub } from './activity-hub.ts'
import { createSubscriptionTester } from './subscription-test.ts'
import { openApiDocument } from './openapi.ts'
import { registerDocs } from './docs.ts'
import type { BucketOpsContext, ScanControl } from './context.ts'
import type { RouteSpec } from './route-spec.ts'

export { createNetworkGuard, guardedLookup, systemLookup, type NetworkGuard, type NetworkProblem, type Lookup } from './network-guard.ts'
export { createCredentialCheck, type CredentialCheck } from './credential-check.ts'
export type { ScanControl } from './context.ts'

export interface ApiDeps {
  config: Config
  log: Logger
  /** The API's own connection, made by createApiRedis: bounded waits, no offline queue. */
  redis: Redis
  keys: Keys
  /** The replica's live view (main.ts hooks secret invalidation to it); the API itself reads the store. */
  registry: BucketRegistry
  secrets: CachedSecretStore
  /** Where the API writes secrets when not through `secrets` (see createSecretWriter). */
  secretWriter?: SecretStore
  scans: ScanControl
  /** API environment: JWT_SECRET, API_CLIENT_ID, API_CLIENT_SECRET (checked at start-up). */
  auth: { jwtSecret: string, clientId: string, clientSecret: string }
  now?: () => number
  /** The service's metrics registry; the API adds its counters and the secret store gauges. */
  metrics?: Registry
  /** Defaults to the consumer's dead-letter functions on `redis`. */
  deadLetters?: DeadLetters
  /** Defaults to a one-key ListObjectsV2 with the given credentials. */
  checkCredentials?: CredentialCheck
  /** DNS resolution for the SSRF guard; defaults to the system resolver. */
  lookup?: Lookup
  /** A connection for SUBSCRIBE only, for GET /api/activity; without it that route is not served. */
  activitySubscriber?: Redis
}

/**
 * The API's Redis connection: every command answers or fails within `api.redis_timeout_ms`,
 * so a call during an outage gets 503 in bounded time instead of waiting for a reconnect.
 */
export function createApiRedis (config: Config): Redis {
  return createRedis(config.redis, boundedRedisOptions(config.api.redis_timeout_ms))
}

/**
 * Registers the REST API under /api: the token route, bucket and notification management,
 * dead letters, the OpenAPI document and its docs page. Every route but the token route, the
 * document and the docs page needs a bearer token
 * (read scope for GET, write for the rest).
 */
export async function registerApi (app: FastifyInstance<any, any, any, any, any>, deps: ApiDeps): Promise<void> {
  const { config } = deps
  const now = deps.now ?? Date.now
  const clients: ApiClientEntry[] = [
    { client_id: deps.auth.clientId, client_secret: deps.auth.clientSecret, scopes: ['read', 'write'] },
    ...config.api.clients
  ]
  const auth = createAuth({ jwtSecret: deps.auth.jwtSecret, clients, tokenTtlSec: config.api.token_ttl, now })
  const metrics = createApiMetrics(deps.metrics, deps.secrets)
  const policy = createNetworkPolicy(config.webhook.allowed_networks)
  const deadline = createWriteDeadline(deps.redis, config.api.redis_timeout_ms)
  const ctx: BucketOpsContext = {
    config,
    log: deps.log,
    redis: deps.redis,
    keys: deps.keys,
    secrets: deps.secretWriter ? writeThrough(deps.secrets, deps.secretWriter) : deps.secrets,
    now,
    deadline,
    store: createBucketStore(deps.redis, deps.keys, { deadline }),
    guard: createNetworkGuard(policy, deps.lookup),
    checkCredentials: deps.checkCredentials ?? createCredentialCheck({ policy }),
    withBucketLock: createBucketLock(deps.redis, deps.keys, deadline),
    dropSubscription: createSubscriptionCleanup(deps.redis, deps.keys, { deadline }),
    lifecycle: createLifecycle(deps.redis, deps.keys)
  }
  const tester = createSubscriptionTester(config, policy, deps.secrets, now)
  app.addHook('onClose', async () => { await tester.close() })
  const routes: RouteSpec[] = [
    tokenRoute(auth, config.api.token_rate_limit, metrics, deps.log),
    ...notificationRoutes(ctx),
    ...bucketRoutes(ctx, deps.scans),
    ...subscriptionRoutes(ctx, tester),
    ...deadLetterRoutes(deps.deadLetters ?? createDeadLetters(deps.redis, deps.keys, { deadline })),
    ...eventRoutes(createHistory(deps.redis, deps.keys, { ttlMs: config.consumer.history_ttl * 1000 }))
  ]
  if (deps.activitySubscriber) {
    const hub = createActivityHub({ subscriber: deps.activitySubscriber, channel: deps.keys.activityChannel, log: deps.log, heartbeatMs: config.api.activity_heartbeat_ms, maxBufferBytes: config.api.activity_max_buffer_bytes })
    app.addHook('preClose', async () => { hub.close() })
    routes.push(activityRoute(hub))
  }
  routes.push(openApiRoute(routes))
  const protect = bearerHook(auth, (reason, request) => {
    metrics.authFailure(reason)
    deps.log.info({ reason, ip: request.ip, method: request.method, url: request.routeOptions.url }, 'api request refused')
  })

  await app.register(async api => {
    installJsonParser(api, config.api.body_limit_bytes)
    installFormParser(api, config.api.body_limit_bytes)
    installErrorHandler(api, deps.log, now)
    await registerRateLimit(api, deps, metrics, now)
    api.addHook('onResponse', async (request, reply) => {
      metrics.request(request.routeOptions.url ?? 'unknown', request.method, reply.statusCode)
    })
    registerDocs(api)
    for (const route of routes) {
      api.route({
        method: route.method,
        url: route.url.slice('/api'.length),
        bodyLimit: config.api.body_limit_bytes,
        ...(route.auth && { onRequest: protect }),
        ...(route.rateLimit && { config: { rateLimit: route.rateLimit } }),
        handler: route.handler
      })
    }
  }, { prefix: '/api' })
}

function openApiRoute (routes: RouteSpec[]): RouteSpec {
  return {
    method: 'GET',
    url: '/api/openapi.json',
    auth: false,
    operationId: 'getOpenApi',
    summary: 'This document',
    description: 'The OpenAPI 3 document of every route, generated from the schemas the handlers validate with. No token needed, so documentation tools and code generators can import it.',
    responses: { 200: { description: 'OpenAPI 3.0 document', contentType: 'application/json' } },
    // servers names the address the document was fetched from, so a tool calls this monitor.
    handler: async request => openApiDocument(routes, `${request.protocol}://${request.host}`)
  }
}

// @fastify/rate-limit builds the key (the client address, IPv6 by /56), the RateLimit-* and
// Retry-After headers (IETF draft names) and the refusal; its count lives in Redis, so every
// replica shares one limit.
async function registerRateLimit (api: FastifyInstance, deps: ApiDeps, metrics: ReturnType<typeof createApiMetrics>, now: () => number): Promise<void> {
  const refusals = createRefusalLog({
    log: deps.log,
    windowMs: TOKEN_WINDOW_MS,
    now,
    keyName: 'ip',
    first: 'api token requests rate limited; further refusals in this window are counted',
    summary: 'api token requests rate limited: refusals in the last window'
  })
  await api.register(fastifyRateLimit, {
    global: false,
    enableDraftSpec: true,
    store: redisRateLimitStore({ redis: deps.redis, prefix: deps.keys.tokenRateLimitPrefix, windowMs: TOKEN_WINDOW_MS, now }),
    onExceeding: request => refusals(request.ip, false),
    onExceeded: request => { metrics.rateLimited(); refusals(request.ip, true) },
    errorResponseBuilder: (_request, context) => new ApiError(429, 'Too many token requests; try again later', { retry_after: Math.max(1, Math.ceil(context.ttl / 1000)) })
  })
}

export { checkConfiguredBucketNetworks } from './config-buckets.ts'
