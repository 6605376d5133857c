import { z } from 'zod'
import { BaseEnv, allowsDemoSecrets, envFlag, loadServiceConfig, secretEnv, type Config } from '@internal/config'
import { SecretStoreEnvFields, hasSecretStore, NO_SECRET_STORE } from '@internal/buckets'

/**
 * The monitor's environment: the shared variables, the API's credentials and the secret
 * store's. The API secrets' demo values are refused unless `allowDemo` (ALLOW_DEMO_SECRETS).
 */
export function monitorEnv (allowDemo: boolean) {
  return BaseEnv.extend({
    JWT_SECRET: secretEnv(32, allowDemo),
    API_CLIENT_ID: z.string().min(1),
    API_CLIENT_SECRET: secretEnv(16, allowDemo),
    ALLOW_DEMO_SECRETS: envFlag.default(false),
    ...SecretStoreEnvFields,
    /** This replica's lease owner id; default host name + pid + random. */
    MONITOR_ID: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/).optional()
  }).refine(hasSecretStore, NO_SECRET_STORE)
}
export const MonitorEnv = monitorEnv(false)
export type MonitorEnv = z.infer<typeof MonitorEnv>

export interface MonitorConfig {
  config: Config
  env: MonitorEnv
}

/** The config file, BUCKETS_PATH and the environment, validated together: one ConfigError lists every problem. */
export function loadMonitorConfig (env: Record<string, string | undefined>): MonitorConfig {
  return loadServiceConfig(env, monitorEnv(allowsDemoSecrets(env)), { defaultHttpPort: 8080 })
}
