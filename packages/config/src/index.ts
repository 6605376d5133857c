import { readFileSync, existsSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import {
  ApiSection, ConsumerSection, DefaultsSection, LoggingSection, OAuthSection,
  ParallelSection, RedisSection, WebhookSection
} from './schema.ts'
import { ConfigError, describeIssues } from './errors.ts'

export { ConfigError, describeIssues } from './errors.ts'
export { ApiClient, StaggerMethod, DEFAULT_RETRY_SCHEDULE } from './schema.ts'
export { DEMO_SECRETS, DEMO_FLAG, allowsDemoSecrets, envFlag, secretEnv } from './secrets.ts'

export const ConfigFile = z.object({
  defaults: DefaultsSection.prefault({}),
  parallel: ParallelSection.prefault({}),
  redis: RedisSection.prefault({}),
  oauth: OAuthSection.prefault({}),
  webhook: WebhookSection.prefault({}),
  consumer: ConsumerSection.prefault({}),
  logging: LoggingSection.prefault({}),
  api: ApiSection.prefault({}),
  /** Raw bucket entries; the buckets package validates them (config imports no workspace package). */
  buckets: z.array(z.record(z.string(), z.unknown())).nullable().default([]).transform(b => b ?? [])
}).loose()
export type ConfigFile = z.infer<typeof ConfigFile>

const port = z.coerce.number().int().min(1).max(65535)
const logLevel = z.string().transform(s => s.toLowerCase()).pipe(z.enum(['trace', 'debug', 'info', 'warn', 'warning', 'error', 'fatal', 'critical']))
  .transform(l => l === 'warning' ? 'warn' : l === 'critical' ? 'fatal' : l)

/** Environment variables shared by both services (those of the Python services, plus this implementation's). */
export const BaseEnv = z.object({
  CONFIG_PATH: z.string().optional(),
  BUCKETS_PATH: z.string().optional(),
  POLLING_INTERVAL: z.coerce.number().positive().optional(),
  LOG_LEVEL: logLevel.optional(),
  REDIS_HOST: z.string().min(1).optional(),
  REDIS_PORT: port.optional(),
  REDIS_PASSWORD: z.string().optional(),
  REDIS_SENTINEL_HOST: z.string().min(1).optional(),
  REDIS_SENTINEL_PORT: port.optional(),
  REDIS_MASTER_NAME: z.string().min(1).optional(),
  WEBHOOK_URL: z.string().url().optional(),
  HTTP_PORT: port.optional(),
  /** The address the HTTP server binds: every interface by default, 127.0.0.1 for loopback only. */
  HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  /** How long start-up waits for Redis to answer before it gives up with one line. */
  STARTUP_REDIS_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000)
})
export type BaseEnv = z.infer<typeof BaseEnv>

export type Config = ConfigFile & { env: BaseEnv, logLevel: string, httpPort: number, httpHost: string }

/**
 * The config file, BUCKETS_PATH and a service's own environment schema (BaseEnv extended),
 * validated together: one ConfigError lists every problem of both.
 */
export function loadServiceConfig<S extends z.ZodType<BaseEnv>> (env: Record<string, string | undefined>, schema: S, opts: { defaultHttpPort: number }): { config: Config, env: z.infer<S> } {
  const problems: string[] = []
  let config: Config | undefined
  try {
    config = loadConfig(env, opts)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    problems.push(...err.problems)
  }
  const parsed = schema.safeParse(env)
  if (!parsed.success) {
    // The shared variables' problems are already listed by loadConfig.
    const own = parsed.error.issues.filter(i => !(String(i.path[0]) in BaseEnv.shape))
    problems.push(...describeIssues(own, 'env'))
  }
  if (problems.length > 0 || !config || !parsed.success) throw new ConfigError(problems)
  return { config, env: parsed.data }
}

const DEFAULT_CONFIG_PATH = '/app/config/config.yaml'

/**
 * Loads the YAML file at CONFIG_PATH, the buckets at BUCKETS_PATH, and the environment
 * overrides, and validates all of it; throws one ConfigError that lists every problem.
 */
export function loadConfig (env: Record<string, string | undefined>, opts: { defaultHttpPort: number }): Config {
  const problems: string[] = []
  const parsedEnv = BaseEnv.safeParse(env)
  if (!parsedEnv.success) problems.push(...describeIssues(parsedEnv.error.issues, 'env'))
  const e = parsedEnv.success ? parsedEnv.data : validEnvOnly(env)

  const file = readYaml(e.CONFIG_PATH ?? DEFAULT_CONFIG_PATH, e.CONFIG_PATH !== undefined, problems) ?? {}
  if (e.BUCKETS_PATH !== undefined) {
    const extra = readYaml(e.BUCKETS_PATH, true, problems)
    const list = Array.isArray(extra) ? extra : (extra as { buckets?: unknown } | undefined)?.buckets
    if (list !== undefined) file.buckets = [...asArray(file.buckets), ...asArray(list)]
  }
  applyEnvOverrides(file, e)

  const parsed = ConfigFile.safeParse(file)
  if (!parsed.success) problems.push(...describeIssues(parsed.error.issues, 'config'))
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems)
  const logLevel = e.LOG_LEVEL ?? levelFromFile(parsed.data.logging.level) ?? 'info'
  return { ...parsed.data, env: e, logLevel, httpPort: e.HTTP_PORT ?? opts.defaultHttpPort, httpHost: e.HTTP_HOST }
}

// With some variables bad, the good ones still apply, so the file checks report their own problems too.
function validEnvOnly (env: Record<string, string | undefined>): BaseEnv {
  const good: Record<string, string> = {}
  for (const [key, field] of Object.entries(BaseEnv.shape)) {
    const value = env[key]
    if (value !== undefined && field.safeParse(value).success) good[key] = value
  }
  return BaseEnv.parse(good)
}

function readYaml (path: string, required: boolean, problems: string[]): Record<string, any> | undefined {
  if (!existsSync(path)) {
    if (required) problems.push(`file ${path}: not found`)
    return undefined
  }
  try {
    const doc = parseYaml(readFileSync(path, 'utf8'))
    if (doc === null || doc === undefined) return {}
    if (typeof doc !== 'object') problems.push(`file ${path}: expected a YAML mapping`)
    return typeof doc === 'object' ? doc : undefined
  } catch (err) {
    problems.push(`file ${path}: ${(err as Error).message.split('\n')[0]}`)
    return undefined
  }
}

function asArray (value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}

function section (file: Record<string, any>, name: string): Record<string, unknown> {
  if (file[name] === null || typeof file[name] !== 'object') file[name] = {}
  return file[name]
}

function applyEnvOverrides (file: Record<string, any>, e: BaseEnv): void {
  const set = (name: string, key: string, value: unknown) => { if (value !== undefined) section(file, name)[key] = value }
  set('defaults', 'polling_interval', e.POLLING_INTERVAL)
  set('redis', 'host', e.REDIS_HOST)
  set('redis', 'port', e.REDIS_PORT)
  set('redis', 'password', e.REDIS_PASSWORD)
  set('redis', 'sentinel_host', e.REDIS_SENTINEL_HOST)
  set('redis', 'sentinel_port', e.REDIS_SENTINEL_PORT)
  set('redis', 'master_name', e.REDIS_MASTER_NAME)
  set('webhook', 'url', e.WEBHOOK_URL)
}

function levelFromFile (level: string | undefined): string | undefined {
  if (level === undefined) return undefined
  const parsed = logLevel.safeParse(level)
  return parsed.success ? parsed.data : undefined
}
