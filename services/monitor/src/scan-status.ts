import type { Redis, Keys } from '@internal/redis'
import type { EventCounts } from './scan-context.ts'

/** How far the scan running now has got (null when none runs). Times are ISO strings. */
export interface LiveScanProgress {
  started_at: string
  objects_listed: number
  pages: number
  /** Key ranges listed to their end, and the ranges known so far (a split adds some). */
  ranges_done: number
  ranges_total: number
  /** When the scan last wrote this (every second or so while it runs). */
  updated_at: string
}

/** A bucket's scanning status, as the API shows it. Times are ISO strings. */
export interface ScanStatus {
  last_scan_at: string | null
  last_scan_duration_ms: number | null
  last_scan_outcome: 'ok' | 'error' | 'aborted' | 'lost' | null
  objects_listed: number | null
  objects_tracked: number
  /** Events enqueued by all scans of this bucket so far. */
  events_created: number
  events_updated: number
  events_detected: number
  events_deleted: number
  scans_total: number
  consecutive_failures: number
  last_error: string | null
  last_error_at: string | null
  next_scan_due: string | null
  scan_progress: LiveScanProgress | null
}

const num = (v: string | undefined) => v === undefined || v === '' ? null : Number(v)
const iso = (v: string | undefined) => v === undefined || v === '' ? null : new Date(Number(v)).toISOString()

/** Reads keys.bucketStatus(name); a bucket never scanned gives zeros and nulls. */
export async function readScanStatus (redis: Redis, keys: Keys, name: string): Promise<ScanStatus> {
  const h = await redis.hgetall(keys.bucketStatus(name))
  const outcome = h.last_scan_outcome
  return {
    last_scan_at: iso(h.last_scan_at),
    last_scan_duration_ms: num(h.last_scan_duration_ms),
    last_scan_outcome: outcome === 'ok' || outcome === 'error' || outcome === 'aborted' || outcome === 'lost' ? outcome : null,
    objects_listed: num(h.objects_listed),
    objects_tracked: num(h.objects_tracked) ?? 0,
    events_created: num(h.events_created) ?? 0,
    events_updated: num(h.events_updated) ?? 0,
    events_detected: num(h.events_detected) ?? 0,
    events_deleted: num(h.events_deleted) ?? 0,
    scans_total: num(h.scans_total) ?? 0,
    consecutive_failures: num(h.consecutive_failures) ?? 0,
    last_error: h.last_error || null,
    last_error_at: iso(h.last_error_at),
    next_scan_due: iso(h.next_scan_due),
    scan_progress: liveProgress(h)
  }
}

function liveProgress (h: Record<string, string>): LiveScanProgress | null {
  if (!h.scan_started_at) return null
  return {
    started_at: iso(h.scan_started_at)!,
    objects_listed: num(h.scan_objects_listed) ?? 0,
    pages: num(h.scan_pages) ?? 0,
    ranges_done: num(h.scan_ranges_done) ?? 0,
    ranges_total: num(h.scan_ranges_total) ?? 0,
    updated_at: iso(h.scan_updated_at) ?? iso(h.scan_started_at)!
  }
}

export interface ScanReport {
  outcome: 'ok' | 'error' | 'aborted' | 'lost'
  startedAt: number
  durationMs: number
  listed: number
  events: EventCounts
  nextDue: number
  error?: string
  /** The stable code of a scanner failure (S3_REQUEST_TIMEOUT, SCAN_TIMEOUT, ...). */
  errorCode?: string
  now: number
}

/** The finishScan arguments for a report: fields to set, then counters to increment. */
export function statusArgs (r: ScanReport): string[] {
  const set: Array<[string, string | number]> = [
    ['last_scan_at', r.startedAt], ['last_scan_duration_ms', r.durationMs], ['last_scan_outcome', r.outcome],
    ['objects_listed', r.listed], ['next_scan_due', r.nextDue]
  ]
  if (r.outcome === 'ok') set.push(['consecutive_failures', 0])
  if (r.outcome === 'error') set.push(['last_error', (r.error ?? 'unknown error').slice(0, 500)], ['last_error_at', r.now])
  const incr: Array<[string, number]> = [
    ['scans_total', 1], ['events_created', r.events.created], ['events_updated', r.events.updated],
    ['events_detected', r.events.detected], ['events_deleted', r.events.deleted]
  ]
  if (r.outcome === 'error') incr.push(['consecutive_failures', 1])
  return [String(set.length), ...set.flat().map(String), ...incr.flat().map(String)]
}
