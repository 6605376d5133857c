import type { Config } from '@internal/config'

type StaggerMethod = Config['parallel']['stagger_method']

/** The Python monitor's Java-style string hash: h = (h * 31 + code) mod 2^32. */
export function javaHash (name: string): number {
  let h = 0
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 31) + name.charCodeAt(i)) >>> 0
  return h
}

/**
 * Murmur3's 32-bit finalizer: every input bit moves every output bit, so names that differ in
 * one character (`logs-a`, `logs-b`) land far apart instead of 1 ms apart.
 */
export function mix32 (h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/**
 * Where in its interval a bucket's scans fall, in ms (parallel.stagger_method): `hash` of the
 * name (the Python monitor's Java hash, mixed), `equal` spacing over the sorted bucket names, or `random`. Used only when a bucket
 * enters the schedule; from then on each scan keeps the phase of the one before.
 */
export function staggerOffsetMs (method: StaggerMethod, name: string, intervalMs: number, allNames: string[], random = Math.random): number {
  if (method === 'hash') return mix32(javaHash(name)) % intervalMs
  if (method === 'equal') {
    const sorted = [...allNames].sort()
    const index = Math.max(0, sorted.indexOf(name))
    return Math.floor(index * intervalMs / Math.max(1, sorted.length))
  }
  return Math.floor(random() * intervalMs)
}

/** The first time after `now` that is `offsetMs` past a multiple of the interval. */
export function firstDue (now: number, intervalMs: number, offsetMs: number): number {
  return offsetMs + (Math.floor((now - offsetMs) / intervalMs) + 1) * intervalMs
}

/** The next due time after `now`, in the phase of the due time the scan was started for. */
export function nextDue (now: number, intervalMs: number, previousDue: number): number {
  return firstDue(now, intervalMs, ((previousDue % intervalMs) + intervalMs) % intervalMs)
}

/** Per-bucket backoff after consecutive failures: 5 s doubling to 10 min, +-20 % jitter. */
export function backoffMs (failures: number, random = Math.random): number {
  const base = Math.min(600_000, 5000 * 2 ** Math.max(0, failures - 1))
  return Math.round(base * (0.8 + 0.4 * random()))
}
