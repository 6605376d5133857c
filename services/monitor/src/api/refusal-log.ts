import type { Logger } from '@internal/telemetry'

const SWEEP_AT = 10_000

export interface RefusalLogOptions {
  log: Logger
  windowMs: number
  now: () => number
  /** The field naming what is refused in the log line (`ip`, `cause`). */
  keyName: string
  /** The line of a window's first refusal. */
  first: string
  /** The line that sums up a window's refusals when the next one opens. */
  summary: string
}

/**
 * Log lines of refusals that come in floods (token requests over their rate limit, requests
 * during a Redis outage): one line per request would drown the log; instead the first
 * refusal of a key's window is logged with its detail and the rest counted, the count
 * logged when that key's next window opens. Per replica: each replica logs what it refused.
 */
export function createRefusalLog ({ log, windowMs, now, keyName, first, summary }: RefusalLogOptions) {
  const windows = new Map<string, { index: number, refused: number }>()
  return (key: string, refused: boolean, detail: Record<string, unknown> = {}): void => {
    const index = Math.floor(now() / windowMs)
    let w = windows.get(key)
    if (!w || w.index !== index) {
      if (w && w.refused > 0) log.warn({ [keyName]: key, refused: w.refused }, summary)
      if (windows.size >= SWEEP_AT) for (const [k, old] of windows) if (old.index !== index) windows.delete(k)
      w = { index, refused: 0 }
      windows.set(key, w)
    }
    if (!refused) return
    w.refused++
    if (w.refused === 1) log.warn({ [keyName]: key, ...detail }, first)
  }
}

export type RefusalLog = ReturnType<typeof createRefusalLog>
