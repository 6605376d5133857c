import type { ApiClient } from '../client.ts'
import type { CliIo } from '../context.ts'

interface ScanStatus { last_scan_at: string | null, last_scan_outcome: string | null, last_scan_duration_ms: number | null, objects_listed: number | null, objects_tracked: number, last_error: string | null }

/**
 * Polls the bucket's status until a scan that started at or after `since` has ended, writing one progress
 * line to stderr (rewritten in place on a terminal): elapsed time, then objects listed of the
 * bucket's tracked count. Answers the finished scan's status.
 */
export async function waitForScan (client: ApiClient, io: CliIo, name: string, since: number): Promise<Record<string, unknown>> {
  const path = `/api/buckets/${encodeURIComponent(name)}`
  const tty = io.stderr.isTTY === true
  for (;;) {
    const { status } = await client.request<{ status: ScanStatus }>('GET', path)
    const done = status.last_scan_at !== null && Date.parse(status.last_scan_at) >= since // last_scan_at is when the last finished scan started
    const line = done
      ? `resync ${name}: ${status.last_scan_outcome ?? 'done'}, ${status.objects_listed ?? 0} objects listed of ${status.objects_tracked} tracked in ${status.last_scan_duration_ms ?? 0} ms`
      : `resync ${name}: scanning, ${Math.round((io.now() - since) / 1000)} s, ${status.objects_tracked} objects tracked`
    io.stderr.write(tty ? `\r\x1b[K${line}${done ? '\n' : ''}` : `${line}\n`)
    if (done) return { bucket: name, ...status }
    if (io.signal.aborted) return { bucket: name, ...status, waiting: 'interrupted' }
    await new Promise(resolve => setTimeout(resolve, io.pollMs ?? 500))
  }
}
