import { RedisWipeWatch, type Redis, type Keys } from '@internal/redis'
import type { Config } from '@internal/config'
import type { BucketStore, CachedSecretStore } from '@internal/buckets'
import { Counter, toError, type Logger, type Registry } from '@internal/telemetry'
import { loadConfiguredBuckets } from './bucket-bootstrap.ts'

export interface WipeDeps {
  config: Config
  redis: Redis
  keys: Keys
  store: BucketStore
  secrets: CachedSecretStore
  log: Logger
  metrics: Registry
}

/**
 * Watches for a Redis that lost its data and puts back what the config file holds: its buckets
 * and their secrets (the secret cache is dropped first, or values it still holds would not be
 * written back to an emptied embedded store). Buckets added through the API are gone with the data.
 */
export async function watchRedisWipes (deps: WipeDeps): Promise<RedisWipeWatch> {
  const { config, log } = deps
  const wipes = new Counter({ name: 'watch_folder_redis_wiped_total', help: 'Times this replica found Redis emptied (its instance marker gone or replaced)', registers: [deps.metrics] })
  const watch = new RedisWipeWatch({
    redis: deps.redis,
    key: deps.keys.instanceMarker,
    intervalMs: config.redis.config_check_interval_ms,
    onError: err => log.warn({ err: toError(err) }, 'redis wipe check failed'),
    onWiped: () => {
      wipes.inc()
      log.error({ configured: config.buckets.length }, 'redis lost its data (instance marker gone): re-seeding the config file\'s buckets; buckets added through the API must be added again')
    },
    recover: async () => {
      deps.secrets.invalidate()
      const loaded = await loadConfiguredBuckets({ config, store: deps.store, secrets: deps.secrets, now: Date.now })
      log.warn({ buckets: loaded }, 'config file buckets re-seeded after the redis wipe')
    }
  })
  await watch.start()
  return watch
}
