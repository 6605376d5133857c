import { CliError, EXIT, describeAnswer, exitCodeOf } from './errors.ts'
import type { Session, SessionFile } from './session.ts'

/** Seconds before expiry at which a cached token is already replaced. */
const EXPIRY_MARGIN_MS = 30_000

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>
  body?: unknown
}

/**
 * Calls the monitor's API with the session's token: a missing or expiring token is fetched
 * first, and a 401 gets one retry with a fresh token (the token may have been revoked by a
 * JWT_SECRET rotation). Every failed answer becomes a CliError with its exit code.
 */
export class ApiClient {
  readonly session: Session
  readonly file: SessionFile | undefined
  readonly now: () => number

  constructor (session: Session, file: SessionFile | undefined, now: () => number = Date.now) {
    this.session = session
    this.file = file
    this.now = now
  }

  async request<T = any> (method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    let res = await this.send(method, path, opts, await this.token(false))
    if (res.status === 401) res = await this.send(method, path, opts, await this.token(true))
    return await answerOf<T>(res)
  }

  /** The raw answer of an authenticated GET (the activity stream reads its body as it arrives). */
  async stream (path: string, query: RequestOptions['query'], signal?: AbortSignal): Promise<Response> {
    const headers = { accept: 'text/event-stream' }
    let res = await this.send('GET', path, { query }, await this.token(false), headers, signal)
    if (res.status === 401) res = await this.send('GET', path, { query }, await this.token(true), headers, signal)
    if (!res.ok) await answerOf(res)
    return res
  }

  /** A valid token: the cached one unless `renew` or it expires within the margin. */
  async token (renew: boolean): Promise<string> {
    const s = this.session
    if (!renew && s.access_token && (s.expires_at ?? 0) - EXPIRY_MARGIN_MS > this.now()) return s.access_token
    const answer = await fetchToken(s.url, s.client_id, s.client_secret)
    s.access_token = answer.access_token
    s.expires_at = this.now() + answer.expires_in * 1000
    this.file?.write(s)
    return answer.access_token
  }

  private async send (method: string, path: string, opts: RequestOptions, token: string, extra: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    const url = new URL(path, this.session.url)
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v))
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...extra }
    if (opts.body !== undefined) headers['content-type'] = 'application/json'
    return await call(url, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal })
  }
}

/** RFC 6749 §4.4 client credentials, the client in HTTP Basic. */
export async function fetchToken (url: string, clientId: string, clientSecret: string): Promise<{ access_token: string, expires_in: number, scope: string }> {
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')
  const res = await call(new URL('/api/auth/token', url), {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials'
  })
  return await answerOf(res)
}

async function call (url: URL, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init)
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err
    const cause = (err as { cause?: { code?: string, message?: string } }).cause
    throw new CliError(`cannot reach ${url.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, EXIT.unavailable)
  }
}

async function answerOf<T> (res: Response): Promise<T> {
  const text = await res.text()
  let body: unknown
  try { body = text === '' ? undefined : JSON.parse(text) } catch {
    if (res.ok) throw new CliError(`the API answered ${res.status} with something that is not JSON`, EXIT.failure)
  }
  if (res.ok) return body as T
  throw new CliError(describeAnswer(res.status, body), exitCodeOf(res.status))
}
