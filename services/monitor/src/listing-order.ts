const BEYOND_BMP_EDGE = /[\ud800-\uffff]/

/**
 * S3 lists keys in UTF-8 byte order. JavaScript compares UTF-16 code units, which agree
 * except around surrogates; only such keys pay for a byte comparison.
 */
export function keyBefore (a: string, b: string): boolean {
  if (BEYOND_BMP_EDGE.test(a) || BEYOND_BMP_EDGE.test(b)) return Buffer.compare(Buffer.from(a), Buffer.from(b)) < 0
  return a < b
}

/**
 * Checks that a listing arrives strictly ascending across pages. Some S3-compatible
 * servers (s3rver) break the order and drop keys at page boundaries; such a listing is
 * not trusted to be complete, so no deletion is inferred from it. With `after`, every key
 * must also come after that one (a range listed from StartAfter).
 */
export function createOrderCheck (after?: string) {
  let last = after
  return {
    accept (page: Array<{ key: string }>): boolean {
      let ok = true
      for (const { key } of page) {
        if (last !== undefined && !keyBefore(last, key)) ok = false
        last = key
      }
      return ok
    }
  }
}
