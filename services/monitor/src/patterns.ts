// The key filter is shared with the consumer (subscriptions filter on it too).
export { createKeyFilter, patternProblem, type KeyFilter } from '@internal/buckets'

// Characters that make a pattern a glob (picomatch: wildcards, classes, braces, extglobs,
// negation, escapes); a prefix ends before the first of them.
const GLOB_CHARS = /[*?[\]{}()!+@\\]/

/**
 * The literal prefixes that every key the include patterns can match starts with, so only
 * those need listing: `incoming/*.jpg` gives `incoming/`. Undefined when some pattern can
 * match anywhere: no include at all, one starting with a glob, or one without `/` (it is
 * also tried on the key's last segment). A prefix inside another one is left out.
 */
export function literalPrefixes (include: string[] | undefined): string[] | undefined {
  if (!include || include.length === 0) return undefined
  const prefixes: string[] = []
  for (const pattern of include) {
    const glob = pattern.search(GLOB_CHARS)
    const prefix = glob < 0 ? pattern : pattern.slice(0, glob)
    if (prefix === '' || !pattern.includes('/')) return undefined
    prefixes.push(prefix)
  }
  const sorted = [...new Set(prefixes)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  return sorted.filter((p, i) => !sorted.slice(0, i).some(q => p.startsWith(q)))
}
