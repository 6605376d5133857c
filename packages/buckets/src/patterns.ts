/**
 * Include/exclude globs on object keys, matched with picomatch: `*` and `?` stay within one
 * path segment, `**` crosses segments, and classes (`[0-9]`), braces (`*.{pdf,csv}`) and a
 * leading `!` (negation) work as in shells and gitignore. A pattern without `/` is also tried
 * on the key's last segment, so `*.part` matches `uploads/2026/a.part`. Dot files are not
 * special: `*` matches `.env` (object keys are not a file system listing).
 */
import picomatch from 'picomatch'

export interface KeyFilter {
  (key: string): boolean
}

// Extglobs (`+(a|aa)`) nest quantifiers and are off; braces, classes and negation stay.
const OPTIONS = { dot: true, noextglob: true, strictBrackets: true } as const

/**
 * Stars in one path segment, beyond which a match can backtrack for seconds: picomatch builds
 * backtracking expressions, and `*a*a*b` already costs ~0.3 s on a 1 KiB key against ~1 ms for
 * `*a*b`. A segment that is exactly `**` does not count.
 */
export const MAX_STARS_PER_SEGMENT = 2

/** Why a pattern cannot be used, or undefined when it can. */
export function patternProblem (pattern: string): string | undefined {
  if (pattern.length === 0) return 'must not be empty'
  if (/(^|[^\\])(\\\\)*\\$/.test(pattern)) return 'ends with an unfinished escape (\\)'
  for (const segment of pattern.split('/')) {
    if (segment === '**' || segment === '!**') continue
    const stars = segment.match(/\*+/g)?.length ?? 0
    if (stars > MAX_STARS_PER_SEGMENT) return `more than ${MAX_STARS_PER_SEGMENT} wildcards (*) in the path segment ${JSON.stringify(segment)}`
  }
  try {
    picomatch.makeRe(pattern, OPTIONS)
  } catch (err) {
    return (err as Error).message
  }
  return undefined
}

type Matcher = (key: string) => boolean

function compile (pattern: string): Matcher {
  const problem = patternProblem(pattern)
  if (problem) throw new Error(`invalid pattern ${JSON.stringify(pattern)}: ${problem}`)
  const test = picomatch(pattern, OPTIONS)
  if (pattern.includes('/')) return test
  const base = (key: string) => key.slice(key.lastIndexOf('/') + 1)
  // `!*.tmp` on `a/b.tmp`: the whole key is "not *.tmp" but its last segment is not, and a
  // negation must hold for both to keep meaning "everything except *.tmp".
  if (pattern.startsWith('!')) return key => test(key) && test(base(key))
  return key => test(key) || test(base(key))
}

function matchesAny (list: Matcher[], key: string): boolean {
  return list.some(test => test(key))
}

/**
 * A key is watched when it matches an include (or there are none) and no exclude. Throws on
 * an unusable pattern (the API and the config loader refuse those before they get here).
 */
export function createKeyFilter (include: readonly string[] | undefined, exclude: readonly string[] | undefined): KeyFilter {
  const inc = (include ?? []).map(compile)
  const exc = (exclude ?? []).map(compile)
  if (inc.length === 0 && exc.length === 0) return () => true
  return key => (inc.length === 0 || matchesAny(inc, key)) && !matchesAny(exc, key)
}
