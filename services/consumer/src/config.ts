import { z } from 'zod'
import { BaseEnv, loadServiceConfig, type Config } from '@internal/config'
import { SecretStoreEnvFields, hasSecretStore, NO_SECRET_STORE } from '@internal/buckets'

/** The consumer's environment: the shared variables plus the secret store's. */
export const ConsumerEnv = BaseEnv.extend({
  ...SecretStoreEnvFields,
  /** This replica's id in Redis (processing list, heartbeat); default host name + pid + random. */
  CONSUMER_ID: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/).optional()
}).refine(hasSecretStore, NO_SECRET_STORE)
export type ConsumerEnv = z.infer<typeof ConsumerEnv>

/** The config file, BUCKETS_PATH and the environment, validated together: one ConfigError lists every problem. */
export function loadConsumerConfig (env: Record<string, string | undefined>): { config: Config, env: ConsumerEnv } {
  return loadServiceConfig(env, ConsumerEnv, { defaultHttpPort: 8081 })
}
