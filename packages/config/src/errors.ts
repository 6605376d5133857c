/** Start-up configuration is invalid; `problems` lists every bad key at once. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID'
  readonly problems: string[]

  constructor (problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

/** Formats zod issues as `path: reason`, the path prefixed by where the value came from. */
export function describeIssues (issues: ReadonlyArray<{ path: PropertyKey[], message: string }>, source: string): string[] {
  return issues.map(issue => {
    const path = issue.path.map(String).join('.')
    return `${source}${path ? ` ${path}` : ''}: ${issue.message}`
  })
}
