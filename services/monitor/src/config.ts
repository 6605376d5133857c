import { z } from 'zod'
import { BaseEnv, ConfigError, describeIssues, loadConfig, type Config } from '@internal/config'

/** The monitor's environment: the shared variables, the API's credentials and the secret store's. */
export const MonitorEnv = BaseEnv.extend({
  JWT_SECRET: z.string().refine(s => Buffer.byteLength(s) >= 32, 'must be at least 32 bytes (the original accepted an empty key)'),
  API_CLIENT_ID: z.string().min(1),
  API_CLIENT_SECRET: z.string().min(1),
  SECRETS_KEY: z.string().refine(s => Buffer.from(s, 'base64').length === 32, 'must be 32 bytes, base64').optional(),
  INFISICAL_API_URL: z.string().url().optional(),
  INFISICAL_TOKEN: z.string().min(1).optional(),
  INFISICAL_PROJECT_ID: z.string().min(1).optional(),
  INFISICAL_ENV: z.string().min(1).optional(),
  INFISICAL_CLIENT_ID: z.string().min(1).optional(),
  INFISICAL_CLIENT_SECRET: z.string().min(1).optional(),
  /** This replica's lease owner id; default host name + pid + random. */
  MONITOR_ID: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/).optional()
}).refine(e => e.SECRETS_KEY !== undefined || e.INFISICAL_TOKEN !== undefined || (e.INFISICAL_CLIENT_ID !== undefined && e.INFISICAL_CLIENT_SECRET !== undefined), {
  message: 'no secret store: set SECRETS_KEY (32 bytes, base64) or INFISICAL_TOKEN / INFISICAL_CLIENT_ID + INFISICAL_CLIENT_SECRET',
  path: ['SECRETS_KEY']
})
export type MonitorEnv = z.infer<typeof MonitorEnv>

export interface MonitorConfig {
  config: Config
  env: MonitorEnv
}

/** The config file, BUCKETS_PATH and the environment, validated together: one ConfigError lists every problem. */
export function loadMonitorConfig (env: Record<string, string | undefined>): MonitorConfig {
  const problems: string[] = []
  let config: Config | undefined
  try {
    config = loadConfig(env, { defaultHttpPort: 8080 })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    problems.push(...err.problems)
  }
  const parsed = MonitorEnv.safeParse(env)
  if (!parsed.success) {
    // The shared variables' problems are already listed by loadConfig.
    const own = parsed.error.issues.filter(i => !(String(i.path[0]) in BaseEnv.shape))
    problems.push(...describeIssues(own, 'env'))
  }
  if (problems.length > 0 || !config || !parsed.success) throw new ConfigError(problems)
  return { config, env: parsed.data }
}
