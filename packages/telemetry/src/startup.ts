import { toError } from './errors.ts'

// What a service prints when it cannot start: one line naming the cause, never a stack trace,
// so an operator reading `kubectl logs` or a terminal sees at once what to fix.

/** The one line a failed start-up prints (the message only, without the `cannot start:` prefix). */
export function startupMessage (err: unknown): string {
  const e = toError(err) as Error & { code?: string, address?: string, port?: number }
  if (e.code === 'EADDRINUSE') return `port ${e.port ?? '?'} on ${e.address ?? '?'} is already in use (HTTP_PORT, HTTP_HOST)`
  if (e.code === 'EADDRNOTAVAIL') return `address ${e.address ?? '?'} is not one of this machine's (HTTP_HOST)`
  if (e.code === 'EACCES' && e.port !== undefined) return `port ${e.port} needs privileges this process lacks (HTTP_PORT)`
  return e.message.split('\n')[0] || e.name
}
