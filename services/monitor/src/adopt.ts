import { z } from 'zod'
import type { Config } from '@internal/config'
import { defineScript, type Keys, type Redis } from '@internal/redis'
import { BucketName, StoredBucket, bucketSecretNames, type BucketStore, type SecretStore } from '@internal/buckets'
import type { Logger } from '@internal/telemetry'
import { bareEtag, encodeFingerprint } from './fingerprint.ts'

export interface AdoptDeps {
  config: Config
  redis: Redis
  keys: Keys
  store: BucketStore
  secrets: SecretStore
  log: Logger
}

export interface AdoptReport {
  buckets: string[]
  secretsMoved: number
  statesMigrated: number
  skipped: Array<{ key: string, reason: string }>
}

const BATCH = 500

// What the Python monitor wrote under linode:objstore:config:bucket:NAME: its add/update fields, and
// after an update the S3 keys too; webhook_auth held the client secret. Both are moved out.
const LegacyConfig = z.object({
  name: z.string(),
  endpoint: z.string().optional(),
  access_key: z.string().optional(),
  secret_key: z.string().optional(),
  webhook_auth: z.object({ client_id: z.string().optional(), client_secret: z.string().optional(), token_url: z.string().optional() }).loose().optional()
}).loose()

/**
 * Adopts a deployment of the Python service this replaces, in place, at every start (idempotent):
 * its bucket configs (same keys) are cleaned of plaintext secrets, which move into the secret
 * store; Infisical names the Python monitor mangled (a `.` in the bucket name) are copied to ours;
 * its per-object state strings become fingerprints in the bucket's state hash, so an upgrade
 * does not re-announce objects the Python monitor already announced. The notification switch and
 * last-scan keys are the same keys and need nothing.
 */
export async function adoptOriginal (deps: AdoptDeps): Promise<AdoptReport> {
  const report: AdoptReport = { buckets: [], secretsMoved: 0, statesMigrated: 0, skipped: [] }
  for (const key of await scanKeys(deps.redis, deps.keys.bucketConfigPattern)) {
    const name = key.slice(deps.keys.bucketConfigPrefix.length)
    try {
      if (await adoptConfig(deps, key, name, report)) report.buckets.push(name)
      report.statesMigrated += await migrateState(deps, name)
    } catch (err) {
      report.skipped.push({ key, reason: (err as Error).message })
    }
  }
  for (const { key, reason } of report.skipped) deps.log.warn({ key, reason }, 'original bucket config not adopted')
  if (report.secretsMoved + report.statesMigrated > 0) deps.log.info({ ...report, skipped: report.skipped.length }, 'adopted the Python monitor\'s deployment')
  return report
}

/** Rewrites one config without secrets when it needs it; returns whether it is a usable bucket now. */
async function adoptConfig (deps: AdoptDeps, key: string, name: string, report: AdoptReport): Promise<boolean> {
  const raw = await deps.redis.get(key)
  if (raw === null) return false
  const legacy = LegacyConfig.parse(JSON.parse(raw))
  if (!BucketName.safeParse(name).success || legacy.name !== name) throw new Error(`bucket name ${JSON.stringify(name)} is not a valid S3 name or does not match the key`)
  const names = bucketSecretNames(name)
  const found: Array<[string, string | undefined]> = [
    [names.ACCESS_KEY, legacy.access_key], [names.SECRET_KEY, legacy.secret_key], [names.WEBHOOK_CLIENT_SECRET, legacy.webhook_auth?.client_secret]
  ]
  for (const [secret, value] of found) {
    // A value already in the store wins: the plaintext copy was read from it at some point.
    if (value && await deps.secrets.get(secret) === undefined) await deps.secrets.set(secret, value)
    if (value) report.secretsMoved++
  }
  await copyMangledNames(deps, name)
  const parsed = StoredBucket.parse(cleanConfig(deps.config, legacy))
  const asStored = StoredBucket.safeParse(JSON.parse(raw))
  const plaintext = found.some(([, value]) => value !== undefined) || 'client_secret' in legacy
  if (plaintext || !asStored.success || JSON.stringify(parsed) !== JSON.stringify(asStored.data)) await deps.store.save(parsed, 'put')
  return true
}

function cleanConfig (config: Config, legacy: z.infer<typeof LegacyConfig>): Record<string, unknown> {
  const clean: Record<string, unknown> = { ...legacy }
  for (const secret of ['access_key', 'secret_key', 'client_secret']) delete clean[secret]
  const auth = legacy.webhook_auth
  // The Python monitor dropped token_url on some updates and then sent webhooks without a token; an adopted config keeps that behaviour.
  if (auth?.client_id && auth.token_url) {
    clean.webhook_auth = { type: 'oauth2', client_id: auth.client_id, token_url: auth.token_url, ...(typeof auth.scope === 'string' && { scope: auth.scope }) }
  } else delete clean.webhook_auth
  clean.endpoint ??= config.defaults.endpoint
  return clean
}

// The Python monitor named secrets bucket.upper() with '-' as '_', leaving dots in; ours spell a dot `dot`.
async function copyMangledNames (deps: AdoptDeps, name: string): Promise<void> {
  if (deps.secrets.kind !== 'infisical' || !name.includes('.')) return
  const ours = bucketSecretNames(name)
  const theirs = name.toUpperCase().replaceAll('-', '_')
  for (const kind of ['ACCESS_KEY', 'SECRET_KEY'] as const) {
    if (await deps.secrets.get(ours[kind]) !== undefined) continue
    const value = await deps.secrets.get(`${theirs}_${kind}`)
    if (value !== undefined) await deps.secrets.set(ours[kind], value)
  }
}

const LegacyState = z.object({ etag: z.string(), last_modified: z.number(), size: z.number().int().nonnegative() }).loose()

/** Moves `{state_prefix}{bucket}:{key}` strings into the state hash, in batches; returns how many. */
async function migrateState (deps: AdoptDeps, bucket: string): Promise<number> {
  const prefix = `${deps.config.redis.state_prefix}${bucket}:`
  const legacyKeys = await scanKeys(deps.redis, deps.keys.legacyObjectStatePattern(bucket))
  let migrated = 0
  for (let i = 0; i < legacyKeys.length; i += BATCH) {
    const batch = legacyKeys.slice(i, i + BATCH)
    const values = await deps.redis.mget(batch)
    const args = batch.flatMap((key, j) => [key.slice(prefix.length), fingerprint(values[j] ?? null)])
    migrated += await adoptScript(deps.redis)([deps.keys.objectState(bucket), ...batch], args)
  }
  return migrated
}

function fingerprint (raw: string | null): string {
  if (raw === null) return ''
  try {
    const state = LegacyState.parse(JSON.parse(raw))
    return encodeFingerprint({ etag: bareEtag(state.etag), size: state.size, lastModifiedMs: Math.round(state.last_modified * 1000) })
  } catch {
    return ''
  }
}

function adoptScript (redis: Redis) {
  const adopt = defineScript<string[], number>(redis, 'wfAdoptState', new URL('../lua/adoptState.lua', import.meta.url), 'variadic')
  return (keys: string[], args: string[]): Promise<number> => adopt(keys, ...args)
}

async function scanKeys (redis: Redis, pattern: string): Promise<string[]> {
  const found = new Set<string>()
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = next
    for (const key of keys) found.add(key)
  } while (cursor !== '0')
  return [...found]
}
