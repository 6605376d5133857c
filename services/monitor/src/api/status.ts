import type { Bucket } from '@internal/buckets'
import type { Keys, Redis } from '@internal/redis'
import type { z } from 'zod'
import type { BucketStatusEntry } from './schemas.ts'

type StatusEntry = z.infer<typeof BucketStatusEntry>

const EVENT_TYPES = ['created', 'updated', 'detected', 'deleted'] as const

/**
 * One bucket's answer in GET /api/bucket-notifications/status: the original's three fields
 * plus what the scanner records in its status hash and whether the consumer found the
 * webhook endpoint gone (HTTP 410).
 */
export function statusEntry (bucket: Bucket, scan: Record<string, string>, gone: Set<string>, fallbackWebhook: string | null): StatusEntry {
  const webhook = bucket.webhook_url ?? fallbackWebhook
  return {
    name: bucket.name,
    notifications_enabled: bucket.notifications_enabled,
    webhook_url: webhook ?? 'Not configured',
    endpoint: bucket.endpoint,
    last_scan_at: isoOrNull(scan.last_scan_at),
    last_scan_duration_ms: numberOrNull(scan.last_scan_duration_ms),
    next_scan_due: isoOrNull(scan.next_scan_due),
    objects_tracked: numberOrNull(scan.objects_tracked),
    events: Object.fromEntries(EVENT_TYPES.map(t => [t, numberOrNull(scan[`events_${t}`]) ?? 0])),
    last_error: scan.last_error || null,
    last_error_at: isoOrNull(scan.last_error_at),
    endpoint_gone: webhook !== null && isGone(webhook, gone)
  }
}

/** Reads the scan status hashes of these buckets and the consumer's gone endpoints in one round trip. */
export async function readStatuses (redis: Redis, keys: Keys, names: string[]): Promise<{ scans: Array<Record<string, string>>, gone: Set<string> }> {
  const pipeline = redis.pipeline()
  for (const name of names) pipeline.hgetall(keys.bucketStatus(name))
  pipeline.hgetall(keys.endpointStatus)
  const results = (await pipeline.exec()) ?? []
  const values = results.map(([err, value]) => (err ? {} : value ?? {}) as Record<string, string>)
  const endpoints = values.pop() ?? {}
  return { scans: values, gone: goneEndpoints(endpoints) }
}

// The consumer marks an endpoint gone in a hash keyed by URL or origin; a value of `gone`, or
// JSON with `gone: true` or status 410, means gone.
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

function numberOrNull (value: string | undefined): number | null {
  if (value === undefined || value === '') return null
  const n = Number(value)
  return Number.isFinite(n) ? n : null
}

// The scanner may record times as epoch milliseconds or ISO strings; answers are ISO.
function isoOrNull (value: string | undefined): string | null {
  if (value === undefined || value === '') return null
  const n = Number(value)
  const date = Number.isFinite(n) ? new Date(n < 1e11 ? n * 1000 : n) : new Date(value)
  return Number.isNaN(date.getTime()) ? null : date.toISOString()
}
