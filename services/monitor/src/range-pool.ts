import { keyBefore } from './listing-order.ts'
import { probeBounds, mostRanges, type PlannedRange } from './range-plan.ts'
import type { RangeCursor } from './range-listing.ts'
import type { ScanTarget } from './scan-context.ts'

/** A splittable range is split once its listing has gone this many pages without ending (smaller buckets are not worth the extra requests). */
export const SPLIT_AFTER_PAGES = 20

export type RangeRunner = (range: PlannedRange, pool: RangePool) => Promise<void>

/** Told the ranges listed to their end and the ranges known (started or waiting) whenever either changes. */
export type RangeCounter = (done: number, total: number) => void

/**
 * Lists key ranges concurrently, at most `slots` at once; ranges can be added while it runs
 * (a split). The first failure aborts every other range through `failed`, and `run` rejects
 * with it once nothing is in flight any more.
 */
export function createRangePool (slots: number, runner: RangeRunner, failed: AbortController, onCount: RangeCounter = () => {}) {
  const queue: PlannedRange[] = []
  let active = 0
  let started = 0
  let done = 0
  let failure: { err: unknown } | undefined
  let settle = () => {}
  const settled = new Promise<void>(resolve => { settle = resolve })

  function pump (): void {
    while (active < slots && queue.length > 0 && !failure) {
      const range = queue.shift()!
      active++
      started++
      runner(range, pool)
        .then(() => { done++ }, err => { failure ??= { err }; failed.abort(err) })
        .finally(() => { active--; pump() })
    }
    onCount(done, started + queue.length)
    if (active === 0 && (queue.length === 0 || failure)) settle()
  }

  const pool = {
    /** Adds a range while the pool runs (from a running range, so the pool cannot have settled). */
    add (range: PlannedRange): void {
      queue.push(range)
      pump()
    },
    /** Ranges listed so far. */
    get started (): number { return started },
    async run (ranges: PlannedRange[]): Promise<void> {
      queue.push(...ranges)
      pump()
      await settled
      if (failure) throw failure.err
    }
  }
  return pool
}

export type RangePool = ReturnType<typeof createRangePool>

/**
 * Splits the rest of a range being listed at the common prefixes after where its listing
 * got: the range's end moves to the first of them (its listing reads the end at every page,
 * so a page already on its way is cut there), and the others start ranges of their own.
 */
export async function splitRange (target: ScanTarget, range: PlannedRange, cursor: RangeCursor, pool: RangePool): Promise<void> {
  const bounds = await probeBounds(target, range.prefix, cursor.position, mostRanges(target))
  if (cursor.done) return
  const ahead = bounds.filter(b => (cursor.position === undefined || keyBefore(cursor.position, b)) && (range.through === undefined || keyBefore(b, range.through)))
  if (ahead.length === 0) return
  const end = range.through
  range.through = ahead[0]
  ahead.forEach((after, i) => pool.add({ after, through: ahead[i + 1] ?? end, prefix: range.prefix }))
}
