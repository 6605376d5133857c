import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { loadConfig, type Config } from '@internal/config'
import { createKeys, type Keys, type Redis } from '@internal/redis'
import {
  BucketRegistry, createBucketStore, invalidateSecretsOnChange, createCachedSecretStore, createEmbeddedSecretStore,
  type BucketStore, type CachedSecretStore, type SecretStore
} from '@internal/buckets'
import { createLogger, type Logger, type Registry } from '@internal/telemetry'
import { registerApi, type ApiDeps, type CredentialCheck, type Lookup } from '../src/api/index.ts'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'

export const JWT_SECRET = 'test-jwt-secret-of-at-least-32-bytes!!'
export const CLIENT_ID = 'admin-client'
export const CLIENT_SECRET = 'admin-secret-0123456789'
export const READER = { client_id: 'reader', client_secret: 'reader-secret-0123456789' }

export interface Harness {
  app: FastifyInstance<any, any, any, any, any>
  redis: Redis
  server: RedisServer
  keys: Keys
  store: BucketStore
  registry: BucketRegistry
  secrets: CachedSecretStore
  config: Config
  clock: { now: number }
  resyncs: Array<{ bucket: string, forget: boolean }>
  token (scopes?: 'write' | 'read'): Promise<string>
  close (): Promise<void>
}

export interface HarnessOptions {
  yaml?: string
  checkCredentials?: CredentialCheck
  lookup?: Lookup
  secretStore?: (redis: Redis, keys: Keys) => SecretStore
  logDestination?: { write (line: string): void }
  log?: Logger
  /** Share another harness's redis-server (a second replica); it stays up when this one closes. */
  server?: RedisServer
  /** The embedded store's key; replicas of one deployment share it. */
  secretsKey?: Buffer
  metrics?: Registry
}

/** A real redis-server, the bucket store and registry, and a fastify app with the API registered. */
export async function startApi (opts: HarnessOptions = {}): Promise<Harness> {
  const server = opts.server ?? await startRedis()
  const dir = mkdtempSync(join(tmpdir(), 'wf-api-'))
  const configPath = join(dir, 'config.yaml')
  writeFileSync(configPath, opts.yaml ?? [
    'webhook:', '  allowed_networks: ["127.0.0.0/8"]',
    'api:', '  token_rate_limit: 5', '  clients:', `    - client_id: ${READER.client_id}`, `      client_secret: ${READER.client_secret}`
  ].join('\n'))
  const config = loadConfig({ CONFIG_PATH: configPath }, { defaultHttpPort: 8080 })
  const redis = server.client()
  const subscriber = server.client()
  const activitySubscriber = server.client()
  for (const c of [redis, subscriber, activitySubscriber]) c.on('error', () => {}) // the server is killed at the end; reconnect noise is not a test failure
  const keys = createKeys({ queueName: config.redis.queue_name, deadLetterName: config.redis.dead_letter_queue, statePrefix: config.redis.state_prefix })
  const store = createBucketStore(redis, keys)
  const registry = new BucketRegistry({ store, keys, subscriber, checkIntervalMs: 200 })
  await registry.start()
  const inner = opts.secretStore?.(redis, keys) ?? createEmbeddedSecretStore(redis, keys.secrets, opts.secretsKey ?? randomBytes(32))
  const secrets = createCachedSecretStore(inner, { ttlMs: 60_000 })
  invalidateSecretsOnChange(registry, secrets) // as main.ts does
  const clock = { now: Date.parse('2026-11-22T01:00:00Z') }
  const resyncs: Harness['resyncs'] = []
  const log = opts.log ?? createLogger({ service: 'bucket-monitor', level: 'info', destination: opts.logDestination ?? { write () {} } })
  const app = Fastify({ loggerInstance: log })
  const deps: ApiDeps = {
    config,
    log,
    redis,
    keys,
    registry,
    secrets,
    scans: { async resync (bucket, o) { resyncs.push({ bucket, forget: o.forget }) } },
    auth: { jwtSecret: JWT_SECRET, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    now: () => clock.now,
    checkCredentials: opts.checkCredentials,
    lookup: opts.lookup,
    metrics: opts.metrics,
    activitySubscriber
  }
  await registerApi(app, deps)
  await app.ready()
  async function token (scope: 'write' | 'read' = 'write'): Promise<string> {
    const creds = scope === 'write' ? { client_id: CLIENT_ID, client_secret: CLIENT_SECRET } : READER
    const res = await app.inject({ method: 'POST', url: '/api/auth/token', payload: creds, remoteAddress: `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}` })
    return res.json().access_token
  }
  return {
    app,
    redis,
    server,
    keys,
    store,
    registry,
    secrets,
    config,
    clock,
    resyncs,
    token,
    async close () {
      await app.close()
      await registry.close()
      if (opts.server) for (const c of [redis, subscriber, activitySubscriber]) await c.quit().catch(() => c.disconnect())
      else await server.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** A credential check that accepts one access key (tests that do not need S3 itself). */
export function acceptKey (accessKey: string): CredentialCheck {
  return async input => input.accessKey === accessKey ? { ok: true } : { ok: false, reason: 'InvalidAccessKeyId (HTTP 403): The AWS Access Key Id you provided does not exist in our records.' }
}
