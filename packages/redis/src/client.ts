import { Redis, type RedisOptions } from 'ioredis'

export interface RedisConnectionConfig {
  sentinel_host: string | null
  sentinel_port: number
  master_name: string
  password: string | null
  db: number
  host: string
  port: number
}

/** Parses `host`, `host:port` or a comma-separated list of them into sentinel addresses. */
export function sentinelAddresses (hosts: string, defaultPort: number): Array<{ host: string, port: number }> {
  return hosts.split(',').map(s => s.trim()).filter(Boolean).map(entry => {
    const [host = entry, port] = entry.split(':')
    return { host, port: port ? Number(port) : defaultPort }
  })
}

/**
 * A connection to the master, through Sentinel when a sentinel host is configured.
 * `failoverDetector` makes ioredis drop the old master as soon as Sentinel switches,
 * which avoids the split-brain writes measured in the test-infra notes.
 */
export function createRedis (cfg: RedisConnectionConfig, extra: RedisOptions = {}): Redis {
  const common: RedisOptions = {
    password: cfg.password ?? undefined,
    db: cfg.db,
    connectTimeout: 2000,
    retryStrategy: attempt => Math.min(attempt * 50, 1000),
    reconnectOnError: err => err.message.startsWith('READONLY') ? 2 : false,
    maxRetriesPerRequest: 50,
    ...extra
  }
  if (cfg.sentinel_host) {
    return new Redis({
      ...common,
      sentinels: sentinelAddresses(cfg.sentinel_host, cfg.sentinel_port),
      name: cfg.master_name,
      role: 'master',
      sentinelPassword: undefined,
      failoverDetector: true,
      sentinelRetryStrategy: attempt => Math.min(attempt * 50, 1000)
    })
  }
  return new Redis({ ...common, host: cfg.host, port: cfg.port })
}

/**
 * A connection for SUBSCRIBE only. No ready check: ioredis sends its INFO after a SUBSCRIBE
 * issued while the handshake runs, which the server refuses once the connection is in
 * subscriber mode (redis/ioredis#2037), and the connection is torn down and retried.
 * No auto-resubscribe: the BucketRegistry subscribes itself on every `ready`, so it knows
 * whether the subscription is up and reads everything again after a gap.
 */
export function createSubscriber (cfg: RedisConnectionConfig): Redis {
  return createRedis(cfg, { enableReadyCheck: false, autoResubscribe: false })
}

export interface RedisHealth {
  redis: 'ok' | 'error'
  sentinel: 'ok' | 'error' | 'disabled'
}

/** Readiness of a connection: PING answered, and whether it goes through Sentinel. */
export async function checkRedis (redis: Redis, usesSentinel: boolean, timeoutMs = 1000): Promise<RedisHealth> {
  const sentinel = usesSentinel ? 'ok' : 'disabled'
  if (redis.status !== 'ready') return { redis: 'error', sentinel: usesSentinel ? 'error' : 'disabled' }
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error('ping timeout')), timeoutMs) })
    ])
    return { redis: 'ok', sentinel }
  } catch {
    return { redis: 'error', sentinel }
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Resolves once `redis` answers PING; rejects, naming the server, if it has not within
 * `timeoutMs`. Start-up uses it so an unreachable Redis ends the process with one line
 * instead of every later command retrying in silence.
 */
export async function awaitRedis (redis: Redis, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  let lastError = ''
  const onError = (err: Error) => { lastError = err.message }
  redis.on('error', onError)
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`Redis at ${describeRedis(redis)} did not answer within ${timeoutMs} ms${lastError ? ` (${lastError})` : ''} (REDIS_HOST, REDIS_PORT, REDIS_SENTINEL_HOST; STARTUP_REDIS_TIMEOUT_MS)`)), timeoutMs) })
    ])
  } finally {
    clearTimeout(timer)
    redis.off('error', onError)
  }
}

function describeRedis (redis: Redis): string {
  const o = redis.options
  if (o.sentinels && o.sentinels.length > 0) return `sentinels ${o.sentinels.map(s => `${s.host}:${s.port}`).join(',')} (master ${o.name})`
  return `${o.host}:${o.port}`
}
