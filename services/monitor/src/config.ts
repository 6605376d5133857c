import { z } from 'zod'
import { BaseEnv, loadServiceConfig, type Config } from '@internal/config'
import { SecretStoreEnvFields, hasSecretStore, NO_SECRET_STORE } from '@internal/buckets'

/** The monitor's environment: the shared variables, the API's credentials and the secret store's. */
export const MonitorEnv = BaseEnv.extend({
  JWT_SECRET: z.string().refine(s => Buffer.byteLength(s) >= 32, 'must be at least 32 bytes (the original accepted an empty key)'),
  API_CLIENT_ID: z.string().min(1),
  API_CLIENT_SECRET: z.string().min(1),
  ...SecretStoreEnvFields,
  /** This replica's lease owner id; default host name + pid + random. */
  MONITOR_ID: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/).optional()
}).refine(hasSecretStore, NO_SECRET_STORE)
export type MonitorEnv = z.infer<typeof MonitorEnv>

export interface MonitorConfig {
  config: Config
  env: MonitorEnv
}

/** The config file, BUCKETS_PATH and the environment, validated together: one ConfigError lists every problem. */
export function loadMonitorConfig (env: Record<string, string | undefined>): MonitorConfig {
  return loadServiceConfig(env, MonitorEnv, { defaultHttpPort: 8080 })
}
