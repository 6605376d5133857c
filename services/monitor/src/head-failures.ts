/**
 * Scans on which one object version's HeadObject failed with an error that is not about the
 * object being gone or refused (a 5xx after the SDK's retries, a response whose metadata
 * headers cannot be parsed). A change is held back from its first failing scans, as a
 * passing fault may clear, and announced without its HeadObject fields after `scans` of them,
 * so one poisoned object never holds its bucket for good. Memory only: another replica
 * counts afresh, which at worst delays that one object a few scans more.
 */
export class HeadFailures {
  readonly scans: number
  readonly #maxEntries: number
  readonly #counts = new Map<string, number>()

  constructor (scans = 3, maxEntries = 10_000) {
    this.scans = scans
    this.#maxEntries = maxEntries
  }

  /** Counts one more failed scan of this version; true when it has had its retries. */
  failed (bucket: string, key: string, fingerprint: string): boolean {
    const id = `${bucket}\0${key}\0${fingerprint}`
    const count = (this.#counts.get(id) ?? 0) + 1
    this.#counts.delete(id) // re-inserted last: the oldest entry is the one dropped when full
    if (count >= this.scans) return true
    if (this.#counts.size >= this.#maxEntries) this.#counts.delete(this.#counts.keys().next().value!)
    this.#counts.set(id, count)
    return false
  }
}
