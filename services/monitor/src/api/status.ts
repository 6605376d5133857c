import type { Bucket } from '@internal/buckets'
import type { Config } from '@internal/config'
import type { Keys, Redis } from '@internal/redis'
import type { z } from 'zod'
import type { BucketStatusEntry } from './schemas.ts'
import { readScanStatus, type ScanStatus } from '../scan-status.ts'
import { readRequestRate } from '../request-budget.ts'

type StatusEntry = z.infer<typeof BucketStatusEntry>

/**
 * One bucket's answer in GET /api/bucket-notifications/status: the Python monitor's three fields
 * plus what the scanner records (scan-status.ts) and whether the consumer found the webhook
 * endpoint gone (HTTP 410).
 */
function statusEntry (bucket: Bucket, scan: ScanStatus, gone: Set<string>, fallbackWebhook: string | null, requestRate: number | null): StatusEntry {
  const webhook = bucket.webhook_url ?? fallbackWebhook
  return {
    name: bucket.name,
    notifications_enabled: bucket.notifications_enabled,
    webhook_url: webhook ?? 'Not configured',
    endpoint: bucket.endpoint,
    last_scan_at: scan.last_scan_at,
    last_scan_duration_ms: scan.last_scan_duration_ms,
    last_scan_outcome: scan.last_scan_outcome,
    next_scan_due: scan.next_scan_due,
    objects_tracked: scan.objects_tracked,
    objects_listed: scan.objects_listed,
    scans_total: scan.scans_total,
    consecutive_failures: scan.consecutive_failures,
    events: { created: scan.events_created, updated: scan.events_updated, detected: scan.events_detected, deleted: scan.events_deleted },
    last_error: scan.last_error,
    last_error_at: scan.last_error_at,
    endpoint_gone: webhook !== null && isGone(webhook, gone),
    request_rate: requestRate,
    scan_progress: scan.scan_progress
  }
}

// A status hash the reader cannot parse shows as never scanned, with the reason, not as a 500.
const UNREADABLE: ScanStatus = {
  last_scan_at: null,
  last_scan_duration_ms: null,
  last_scan_outcome: null,
  objects_listed: null,
  objects_tracked: 0,
  events_created: 0,
  events_updated: 0,
  events_detected: 0,
  events_deleted: 0,
  scans_total: 0,
  consecutive_failures: 0,
  last_error: 'scan status unreadable',
  last_error_at: null,
  next_scan_due: null,
  scan_progress: null
}

export function statusDefaults (config: Config): StatusDefaults {
  return { webhookUrl: config.webhook.url, maxRequestsPerSecond: config.parallel.max_requests_per_second_per_bucket }
}

export interface StatusDefaults {
  /** webhook.url: where buckets without their own webhook_url deliver. */
  webhookUrl: string | null
  /** parallel.max_requests_per_second_per_bucket. */
  maxRequestsPerSecond: number
}

/**
 * The status of these buckets: the scanner's record, the consumer's gone endpoints and the
 * S3 request rate in force (concurrent reads, pipelined by ioredis).
 */
export async function readStatuses (redis: Redis, keys: Keys, buckets: Bucket[], defaults: StatusDefaults): Promise<StatusEntry[]> {
  const [scans, endpoints, rates] = await Promise.all([
    Promise.all(buckets.map(b => readScanStatus(redis, keys, b.name).catch(() => UNREADABLE))),
    redis.hgetall(keys.endpointStatus),
    Promise.all(buckets.map(b => readRequestRate(redis, keys, b.name, b.max_requests_per_second ?? defaults.maxRequestsPerSecond).catch(() => null)))
  ])
  const gone = goneEndpoints(endpoints)
  return buckets.map((b, i) => statusEntry(b, scans[i] ?? UNREADABLE, gone, defaults.webhookUrl, rates[i] ?? null))
}

// The consumer marks an endpoint gone in a hash keyed by webhook URL: JSON with `gone: true`
// (or status 410). An origin as field, or a bare `gone`, is accepted too.
function goneEndpoints (hash: Record<string, string>): Set<string> {
  const gone = new Set<string>()
  for (const [endpoint, value] of Object.entries(hash)) {
    if (value === 'gone' || value === '410') gone.add(endpoint)
    else {
      try {
        const parsed = JSON.parse(value) as { gone?: unknown, status?: unknown, state?: unknown }
        if (parsed.gone === true || parsed.status === 410 || parsed.state === 'gone') gone.add(endpoint)
      } catch {}
    }
  }
  return gone
}

function isGone (url: string, gone: Set<string>): boolean {
  if (gone.has(url)) return true
  try { return gone.has(new URL(url).origin) } catch { return false }
}
