import type { ScanDeps, ScanProgress } from './scan-context.ts'

/** How often a running scan writes how far it has got, by default. */
export const PROGRESS_WRITE_MS = 1000

/** The status hash fields of a running scan, as scanProgress.lua writes and finishScan.lua drops them. */
export function progressFields (progress: ScanProgress, nowMs: number): string[] {
  return [
    'scan_started_at', String(progress.startedAt),
    'scan_objects_listed', String(progress.listed),
    'scan_pages', String(progress.pages),
    'scan_ranges_done', String(progress.rangesDone),
    'scan_ranges_total', String(progress.rangesTotal),
    'scan_updated_at', String(nowMs)
  ]
}

/**
 * Writes the scan's progress into the bucket's status at once and then every
 * `progressWriteMs`, one write at a time (a tick is skipped while the last is unanswered; a
 * failed write is replaced by the next). The returned stop waits for a write in flight, so
 * none lands after the scan's finish has dropped the fields.
 */
export function reportProgress (deps: ScanDeps, bucket: string, progress: ScanProgress): () => Promise<void> {
  const keys = [deps.keys.bucketStatus(bucket), deps.keys.bucketConfig(bucket)]
  let pending: Promise<unknown> | undefined
  const write = () => {
    if (pending) return
    pending = deps.scripts.progress(keys, ...progressFields(progress, deps.now()))
      .catch(() => {})
      .finally(() => { pending = undefined })
  }
  write()
  const timer = setInterval(write, deps.progressWriteMs ?? PROGRESS_WRITE_MS)
  timer.unref()
  return async () => {
    clearInterval(timer)
    await pending
  }
}
