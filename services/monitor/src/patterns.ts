/**
 * Include/exclude globs on object keys (seed 002's `*.part`, `.*`): `*` and `?` stay within
 * one path segment, `**` crosses segments. A pattern without `/` is also tried on the key's
 * last segment, so `*.part` matches `uploads/2026/a.part`.
 */
import { setFlagsFromString } from 'node:v8'

/**
 * Globs become regular expressions, and a hostile pattern (`*a*a*a*a*a*b`) backtracks
 * exponentially on long keys. This V8 switch (main.ts calls it once at start) moves any
 * expression that backtracks excessively to V8's linear-time engine, which supports every
 * construct compileGlob emits; well-behaved patterns keep the fast backtracking engine.
 */
export function guardRegexBacktracking (): void {
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks')
}

export interface KeyFilter {
  (key: string): boolean
}

interface Compiled { regex: RegExp, basename: boolean }

export function compileGlob (pattern: string): RegExp {
  let out = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` also matches no directory at all, as in gitignore.
      if (pattern[i + 2] === '/') { out += '(?:.*/)?'; i += 2 } else { out += '.*'; i += 1 }
    } else if (c === '*') out += '[^/]*'
    else if (c === '?') out += '[^/]'
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${out}$`, 's')
}

function compile (patterns: string[] | undefined): Compiled[] {
  return (patterns ?? []).map(p => ({ regex: compileGlob(p), basename: !p.includes('/') }))
}

function matchesAny (list: Compiled[], key: string): boolean {
  if (list.length === 0) return false
  const base = key.slice(key.lastIndexOf('/') + 1)
  return list.some(({ regex, basename }) => regex.test(key) || (basename && regex.test(base)))
}

/** A key is watched when it matches an include (or there are none) and no exclude. */
export function createKeyFilter (include: string[] | undefined, exclude: string[] | undefined): KeyFilter {
  const inc = compile(include)
  const exc = compile(exclude)
  if (inc.length === 0 && exc.length === 0) return () => true
  return key => (inc.length === 0 || matchesAny(inc, key)) && !matchesAny(exc, key)
}

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
    const glob = pattern.search(/[*?]/)
    const prefix = glob < 0 ? pattern : pattern.slice(0, glob)
    if (prefix === '' || !pattern.includes('/')) return undefined
    prefixes.push(prefix)
  }
  const sorted = [...new Set(prefixes)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  return sorted.filter((p, i) => !sorted.slice(0, i).some(q => p.startsWith(q)))
}
