import type { Config } from '@internal/config'
import type { DropSubscription, Keys, Lifecycle, Redis } from '@internal/redis'
import type { BucketStore, CachedSecretStore } from '@internal/buckets'
import type { Logger } from '@internal/telemetry'
import type { NetworkGuard } from './network-guard.ts'
import type { CredentialCheck } from './credential-check.ts'
import type { BucketLock } from './lock.ts'
import { ApiError, badRequest, isRedisUnavailable } from './errors.ts'

/** What the scanner offers the API (status, resync); implemented by the monitor's scheduler. */
export interface ScanControl {
  /** Scan the bucket as soon as possible; with `forget`, drop its object state first so everything is re-announced. */
  resync (bucket: string, opts: { forget: boolean }): Promise<void>
}

/** What the bucket operations work with; built once by registerApi. */
export interface BucketOpsContext {
  config: Config
  log: Logger
  redis: Redis
  keys: Keys
  store: BucketStore
  secrets: CachedSecretStore
  guard: NetworkGuard
  checkCredentials: CredentialCheck
  withBucketLock: BucketLock
  /** Removes a deleted subscription's retries, dead letters and endpoint mark from Redis. */
  dropSubscription: DropSubscription
  /** Subscriptions' delivery state: active or disabled (with the reason), and parked events. */
  lifecycle: Lifecycle
  now: () => number
  /** When a write sent now must be refused by Redis (its clock, ms): the API has answered 503 by then. */
  deadline: () => number
}

/** Refuses the request (400, naming the field) when a URL of the bucket may not be reached. */
export async function assertReachable (ctx: BucketOpsContext, target: Parameters<NetworkGuard['checkBucket']>[0]): Promise<void> {
  assertNoUserinfo('webhook_url', target.webhook_url)
  assertNoUserinfo('token_url', target.webhook_auth?.token_url)
  const [problem] = await ctx.guard.checkBucket(target)
  if (problem) throw badRequest(`Invalid field ${problem.field}: ${problem.reason}`, { field: problem.field, reason: problem.reason })
}

/** 422 with S3's reason when a one-key listing with these credentials fails. */
export async function assertCredentials (ctx: BucketOpsContext, input: { bucket: string, endpoint: string, accessKey: string, secretKey: string, signingRegion?: string }): Promise<void> {
  const result = await ctx.checkCredentials({ ...input, signingRegion: input.signingRegion ?? ctx.config.defaults.signing_region })
  if (!result.ok) {
    throw new ApiError(422, `S3 refused a one-key listing of bucket ${input.bucket} with these credentials: ${result.reason}`, { reason: result.reason })
  }
}

/**
 * Writes secrets one by one. On a failure, puts back what this call changed (the previous
 * value from `previous`, or nothing) and answers 500, so a half-done rotation never sticks.
 */
export async function writeSecrets (ctx: BucketOpsContext, secrets: Array<[string, string]>, failure: string, previous: Map<string, string> = new Map()): Promise<void> {
  const written: string[] = []
  try {
    for (const [name, value] of secrets) {
      await ctx.secrets.set(name, value)
      written.push(name)
    }
  } catch (err) {
    ctx.log.error({ err, secrets: secrets.map(([name]) => name) }, 'secret store write failed')
    await restoreSecrets(ctx, written, previous)
    if (isRedisUnavailable(err)) throw err // answered 503: nothing of it lands later
    throw new ApiError(500, `${failure}: ${(err as Error).message}`)
  }
}

async function restoreSecrets (ctx: BucketOpsContext, names: string[], previous: Map<string, string>): Promise<void> {
  for (const name of names) {
    const old = previous.get(name)
    await (old === undefined ? ctx.secrets.delete(name) : ctx.secrets.set(name, old))
      .catch((err: unknown) => ctx.log.error({ err, secret: name }, 'secret rollback failed'))
  }
}

export function nowIso (ctx: BucketOpsContext): string {
  return new Date(ctx.now()).toISOString()
}

// A password in a URL would be stored in the config and shown by GET /api/buckets; OAuth2
// client credentials and the signing secret have their own fields, kept in the secret store.
function assertNoUserinfo (field: string, url: string | null | undefined): void {
  if (!url) return
  const parsed = new URL(url)
  if (parsed.username !== '' || parsed.password !== '') {
    throw badRequest(`Invalid field ${field}: must not carry a user name or password; use webhook_auth or signing_secret`, { field, reason: 'credentials in the URL' })
  }
}
