import { setMaxListeners } from 'node:events'
import { bucketSecretNames, endpointHost, type Bucket, type SecretStore } from '@internal/buckets'
import { toError } from '@internal/telemetry'
import { scanBucket } from './scan.ts'
import { abandonsScan } from './commit.ts'
import { newProgress, type ScanDeps, type ScanTarget, type ScanProgress } from './scan-context.ts'
import { createKeyFilter } from './patterns.ts'
import { backoffMs, nextDue } from './stagger.ts'
import { statusArgs, type ScanReport } from './scan-status.ts'
import { reportProgress } from './scan-progress.ts'
import type { S3ClientCache } from './s3-clients.ts'
import type { LimiterMap } from './limiter.ts'
import type { MonitorMetrics } from './metrics.ts'
import { ScanError, scanTimeout } from './errors.ts'
import { DEFAULT_REQUEST_DEADLINE_MS } from './s3-request.ts'
import type { RequestBudgets } from './request-budget.ts'

export interface JobDeps extends ScanDeps {
  clients: S3ClientCache
  secrets: SecretStore
  regions: LimiterMap
  metrics?: MonitorMetrics
  owner: string
  leaseTtlMs: number
  defaults: { pollingIntervalSec: number, firstScan: 'emit' | 'baseline', signingRegion: string }
  /** parallel.scan_timeout and parallel.s3_request_deadline, ms. */
  deadlines?: ScanDeadlines
  random: () => number
  /** Every bucket's S3 request budget; none: unlimited. */
  budgets?: RequestBudgets
}

export interface ScanDeadlines { scanMs: number, requestMs: number }

export const DEFAULT_DEADLINES: ScanDeadlines = { scanMs: 3_600_000, requestMs: DEFAULT_REQUEST_DEADLINE_MS }

/** Credentials are missing from the secret store: the scan cannot start. */
export class CredentialsMissingError extends Error {
  readonly code = 'CREDENTIALS_MISSING'
  constructor (bucket: string) {
    super(`no S3 credentials for bucket ${bucket} in the secret store`)
    this.name = 'CredentialsMissingError'
  }
}

export function intervalMs (deps: Pick<JobDeps, 'defaults'>, bucket: Bucket): number {
  return Math.max(1, Math.round((bucket.polling_interval ?? deps.defaults.pollingIntervalSec) * 1000))
}

/**
 * Scans a bucket this replica has claimed: keeps the lease alive while the scan runs (a lost
 * lease aborts it), then records the outcome, sets the next due time (the bucket's phase on
 * success, a growing backoff on failure, at once after a shutdown) and releases the lease.
 */
export async function runClaimedScan (deps: JobDeps, bucket: Bucket, due: number, shutdown: AbortSignal): Promise<ScanReport> {
  // `shutdown` also fires when the bucket is removed; either way the scan is abandoned, not failed.
  const progress = newProgress(deps.now())
  const controller = new AbortController()
  setMaxListeners(0, controller.signal) // each S3 request in flight listens on it
  const stop = () => controller.abort(shutdown.reason)
  shutdown.addEventListener('abort', stop)
  if (shutdown.aborted) stop()
  const lease = keepLease(deps, bucket.name, controller)
  const deadline = scanDeadline(deps, bucket.name, controller)
  const stopReports = reportProgress(deps, bucket.name, progress)
  let failure: Error | undefined
  try {
    await scanBucket(deps, await prepareTarget(deps, bucket, controller.signal), progress)
  } catch (err) {
    failure = deadline.passed ? scanTimeout(bucket.name, deadline.ms) : toError(err)
  } finally {
    deadline.stop()
    lease.stop()
    shutdown.removeEventListener('abort', stop)
    await stopReports()
  }
  const outcome = failure === undefined ? 'ok' : shutdown.aborted || abandonsScan(failure) ? 'aborted' : lease.lost ? 'lost' : 'error'
  return await finish(deps, bucket, due, progress, outcome, failure)
}

export async function prepareTarget (deps: JobDeps, bucket: Bucket, signal: AbortSignal): Promise<ScanTarget> {
  const names = bucketSecretNames(bucket.name)
  const [accessKey, secretKey] = await Promise.all([deps.secrets.get(names.ACCESS_KEY), deps.secrets.get(names.SECRET_KEY)])
  if (!accessKey || !secretKey) throw new CredentialsMissingError(bucket.name)
  const client = deps.clients.get(bucket.name, bucket.endpoint, { accessKey, secretKey }, bucket.signing_region ?? deps.defaults.signingRegion)
  const host = endpointHost(bucket.endpoint)
  return {
    bucket,
    client,
    region: deps.regions.get(host).forBucket(bucket.name),
    regionName: host,
    signal,
    filter: createKeyFilter(bucket.include, bucket.exclude),
    firstScan: bucket.first_scan ?? deps.defaults.firstScan,
    requestDeadlineMs: (deps.deadlines ?? DEFAULT_DEADLINES).requestMs,
    ...(deps.budgets && { budget: deps.budgets.scope(bucket.name, signal) }),
    onRequestTimeout: operation => deps.metrics?.s3RequestTimeouts.inc({ operation })
  }
}

// A scan past its deadline is ended like a lost lease: its requests are aborted, it fails
// (so it is retried with backoff) and its lease is released.
function scanDeadline (deps: JobDeps, name: string, controller: AbortController) {
  const ms = (deps.deadlines ?? DEFAULT_DEADLINES).scanMs
  const state = { passed: false, ms }
  const timer = setTimeout(() => {
    state.passed = true
    controller.abort(scanTimeout(name, ms))
  }, ms)
  timer.unref()
  return { get passed () { return state.passed }, ms, stop: () => clearTimeout(timer) }
}

/** Renews the bucket's lease while a scan runs, pushing its takeover time in `schedule` along; a lost lease aborts the scan. */
export function keepLease (deps: JobDeps, name: string, controller: AbortController, schedule: string = deps.keys.schedule) {
  const state = { lost: false, lastRenewed: deps.now() }
  const renew = async () => {
    try {
      const held = await deps.scripts.renew([deps.keys.lease(name), schedule], deps.owner, deps.leaseTtlMs, deps.now(), name)
      if (held === 1) state.lastRenewed = deps.now()
      else state.lost = true
    } catch {
      // Redis unreachable: keep scanning while the lease may still be ours.
      if (deps.now() - state.lastRenewed > deps.leaseTtlMs) state.lost = true
    }
    if (state.lost) controller.abort(new Error('lease lost'))
  }
  const timer = setInterval(() => { renew().catch(() => {}) }, Math.max(50, Math.floor(deps.leaseTtlMs / 3)))
  timer.unref()
  return { get lost () { return state.lost }, stop: () => clearInterval(timer) }
}

async function finish (deps: JobDeps, bucket: Bucket, due: number, progress: ScanProgress, outcome: ScanReport['outcome'], failure: Error | undefined): Promise<ScanReport> {
  const now = deps.now()
  const failures = outcome === 'error' ? Number(await deps.redis.hget(deps.keys.bucketStatus(bucket.name), 'consecutive_failures') ?? 0) + 1 : 0
  const next = outcome === 'error' ? now + backoffMs(failures, deps.random) : outcome === 'aborted' ? now : nextDue(now, intervalMs(deps, bucket), due)
  const report: ScanReport = {
    outcome,
    startedAt: progress.startedAt,
    durationMs: now - progress.startedAt,
    listed: progress.listed,
    events: progress.events,
    nextDue: next,
    now,
    error: failure && describeError(failure),
    ...(failure instanceof ScanError && { errorCode: failure.code })
  }
  const name = bucket.name
  const keys = [
    deps.keys.lease(name), deps.keys.schedule, deps.keys.objectState(name), deps.keys.lastScan(name), deps.keys.bucketStatus(name), deps.keys.bucketConfig(name),
    deps.keys.stateIndex(name), deps.keys.stateMeta(name)
  ]
  await deps.scripts.finish(keys, deps.owner, name, String(next), String(now), outcome === 'ok' ? 'ok' : 'error', String(deps.stateTtlSec), (progress.startedAt / 1000).toFixed(3), ...statusArgs(report))
  record(deps, name, progress, report, failure)
  return report
}

/** An S3 or Redis failure as one line: the error's name, HTTP status and message; no secret is in any of them. */
function describeError (err: Error): string {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
  return `${err.name}${status ? ` (HTTP ${status})` : ''}: ${err.message}`
}

/**
 * The error as logged: name, message, status and stack only. The SDK copies every field of
 * the S3 error body onto the error, and servers echo the caller's AWSAccessKeyId there
 * (InvalidAccessKeyId, SignatureDoesNotMatch), which pino's serializer would log whole.
 */
export function loggableError (err: Error): Record<string, unknown> {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
  return { type: err.name, message: err.message, ...(status !== undefined && { status }), stack: err.stack }
}

function record (deps: JobDeps, name: string, progress: ScanProgress, report: ScanReport, failure: Error | undefined): void {
  const m = deps.metrics
  if (m) {
    m.scans.inc({ bucket: name, outcome: report.outcome })
    m.scanSeconds.observe({ bucket: name, outcome: report.outcome }, report.durationMs / 1000)
    m.objectsListed.inc({ bucket: name }, progress.listed)
    for (const [type, n] of Object.entries(progress.events)) if (n > 0) m.events.inc({ bucket: name, type }, n)
    if (progress.deletionPass) m.deletionPasses.inc()
    if (!progress.ordered) m.unorderedListings.inc()
    if (report.outcome === 'error') m.scanErrors.inc({ bucket: name, kind: (failure instanceof ScanError ? failure.code : failure?.name ?? 'Error').slice(0, 40) })
  }
  const fields = { bucket: name, outcome: report.outcome, startedAt: report.startedAt, durationMs: report.durationMs, listed: progress.listed, ranges: progress.ranges, events: progress.events, nextDue: new Date(report.nextDue).toISOString() }
  if (report.outcome === 'error') deps.log.warn({ ...fields, err: failure && loggableError(failure) }, 'scan failed')
  else deps.log.info(fields, 'scan finished')
}
