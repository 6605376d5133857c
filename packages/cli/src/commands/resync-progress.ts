import type { ApiClient } from '../client.ts'
import type { CliIo } from '../context.ts'

interface LiveProgress { started_at: string, objects_listed: number, ranges_done: number, ranges_total: number }
interface ScanStatus { last_scan_at: string | null, last_scan_outcome: string | null, last_scan_duration_ms: number | null, objects_listed: number | null, objects_tracked: number, last_error: string | null, scan_progress?: LiveProgress | null }

/**
 * Polls the bucket's status until a scan that started at or after `since` has ended, writing one progress
 * line to stderr (rewritten in place on a terminal): while it runs, elapsed time, objects
 * listed so far of the bucket's tracked count and key ranges done; at the end, the outcome.
 * Answers the finished scan's status.
 */
export async function waitForScan (client: ApiClient, io: CliIo, name: string, since: number): Promise<Record<string, unknown>> {
  const path = `/api/buckets/${encodeURIComponent(name)}`
  const tty = io.stderr.isTTY === true
  for (;;) {
    const { status } = await client.request<{ status: ScanStatus }>('GET', path)
    const done = status.last_scan_at !== null && Date.parse(status.last_scan_at) >= since // last_scan_at is when the last finished scan started
    const line = done ? finishedLine(name, status) : runningLine(name, status, Math.round((io.now() - since) / 1000), since)
    io.stderr.write(tty ? `\r\x1b[K${line}${done ? '\n' : ''}` : `${line}\n`)
    if (done) return { bucket: name, ...status }
    if (io.signal.aborted) return { bucket: name, ...status, waiting: 'interrupted' }
    await new Promise(resolve => setTimeout(resolve, io.pollMs ?? 500))
  }
}

function finishedLine (name: string, status: ScanStatus): string {
  return `resync ${name}: ${status.last_scan_outcome ?? 'done'}, ${status.objects_listed ?? 0} objects listed of ${status.objects_tracked} tracked in ${status.last_scan_duration_ms ?? 0} ms`
}

// A scan that started before the request ends first; the one the request asked for follows it.
function runningLine (name: string, status: ScanStatus, elapsedSec: number, since: number): string {
  const live = status.scan_progress
  if (!live) return `resync ${name}: scanning, ${elapsedSec} s, ${status.objects_tracked} objects tracked`
  if (Date.parse(live.started_at) < since) return `resync ${name}: waiting, ${elapsedSec} s, for the scan under way (${live.objects_listed} objects listed) to end`
  return `resync ${name}: scanning, ${elapsedSec} s, ${live.objects_listed} objects listed of ${status.objects_tracked} tracked, ${live.ranges_done}/${live.ranges_total} ranges done`
}
