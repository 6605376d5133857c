import { listPages, type ListTarget, type ListedObject } from './lister.ts'
import { createOrderCheck, keyBefore } from './listing-order.ts'
import type { KeyRange } from './chunk-state.ts'

export interface RangePage {
  /** The listed objects inside the range, in listing order. */
  objects: ListedObject[]
  /**
   * The part of the range this page vouches for: every key of it that exists was listed
   * in `objects`, unless the listing is faulty. Spans of one range's pages follow each other
   * without gap or overlap, from the range's start to its end.
   */
  span: KeyRange
  /** Every key arrived ascending (in byte order) and inside the range. */
  ordered: boolean
  /** The range was listed in this one page, with no continuation token. */
  whole: boolean
}

/** How far a range's listing got: every key up to `position` has been yielded. */
export interface RangeCursor { position: string | undefined, done: boolean }

/**
 * Lists one key range: StartAfter its start, stopping at the first page that reaches past
 * its end (keys beyond it are another range's). A page's span ends at its last key, the last
 * page's at the range's end; empty pages in the middle of a listing vouch for nothing. The
 * range's end is read at every page: a split may move it closer, never behind `cursor`.
 */
export async function * listRange (target: ListTarget, pageSize: number, range: KeyRange, cursor: RangeCursor = { position: undefined, done: false }): AsyncGenerator<RangePage> {
  let lower = range.after
  let first = true
  cursor.position = lower
  for await (const page of listPages(target, pageSize, { startAfter: range.after, end: () => range.through, prefix: range.prefix })) {
    let objects = page.objects
    let ended = page.final
    if (range.through !== undefined) {
      const beyond = objects.findIndex(o => keyBefore(range.through!, o.key))
      if (beyond >= 0) { objects = objects.slice(0, beyond); ended = true }
    }
    if (!ended && objects.length === 0) continue
    const upper = ended ? range.through : objects.at(-1)!.key
    const whole = first && ended
    cursor.position = upper
    cursor.done = ended
    if (createOrderCheck(lower).accept(objects)) yield { objects, span: { after: lower, through: upper, prefix: range.prefix }, ordered: true, whole }
    else yield disordered(objects, range.prefix)
    if (ended) return
    lower = upper
    first = false
  }
}

// Such a page vouches for nothing, but its changes are still found: sorted, it is compared
// over exactly the keys it holds.
function disordered (objects: ListedObject[], prefix: string | undefined): RangePage {
  const sorted = [...objects].sort((a, b) => a.key === b.key ? 0 : keyBefore(a.key, b.key) ? -1 : 1)
  const unique = sorted.filter((o, i) => i === 0 || o.key !== sorted[i - 1]!.key)
  return { objects: unique, span: { from: unique[0]?.key, through: unique.at(-1)?.key, prefix }, ordered: false, whole: false }
}
