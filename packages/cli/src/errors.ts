/**
 * Exit codes scripts can rely on (the README's CLI section lists them). Every failure is one
 * line on stderr naming the field when the API named one.
 */
export const EXIT = {
  ok: 0,
  /** Anything unexpected (a bug, an answer that is not JSON). */
  failure: 1,
  /** A wrong command line: unknown command or option, a missing argument, a bad value. */
  usage: 2,
  /** Not logged in, wrong client credentials, or a token without the scope. */
  auth: 3,
  /** The bucket, subscription, dead letter or event does not exist (404). */
  notFound: 4,
  /** It already exists (409). */
  conflict: 5,
  /** The API refused the input (400, 413, 415, 422): the line names the field. */
  invalid: 6,
  /** The API could not be reached, was rate limited (429) or failed (5xx, 503 Redis unavailable). */
  unavailable: 7,
  /** `subscriptions test`: the receiver did not take the test event. */
  notDelivered: 8
} as const

export type ExitCode = typeof EXIT[keyof typeof EXIT]

/** A failure the CLI reports as one line and an exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode

  constructor (message: string, exitCode: ExitCode) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** The exit code of an API answer's status. */
export function exitCodeOf (status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.auth
  if (status === 404) return EXIT.notFound
  if (status === 409) return EXIT.conflict
  if (status === 429 || status >= 500) return EXIT.unavailable
  if (status >= 400) return EXIT.invalid
  return EXIT.failure
}

/** One line from an error answer: the message, and the field(s) it names. */
export function describeAnswer (status: number, body: unknown): string {
  const b = (body !== null && typeof body === 'object' ? body : {}) as Record<string, unknown>
  const message = typeof b.error === 'string' ? b.error : `HTTP ${status}`
  const detail = typeof b.error_description === 'string' ? `: ${b.error_description}` : ''
  const fields = Array.isArray(b.fields) ? b.fields.join(', ') : typeof b.field === 'string' ? b.field : undefined
  const named = fields !== undefined && !message.includes(fields) ? ` (field: ${fields})` : ''
  return `${message}${detail}${named} [HTTP ${status}]`
}
