import { request, type Dispatcher } from 'undici'
import { z } from 'zod'
import { assertUrlAllowed } from './network-guard.ts'
import { DeliveryCodes, DeliveryError, findDeliveryError } from './errors.ts'
import type { NetworkPolicy } from '@internal/buckets'

export interface ClientCredentials {
  tokenUrl: string
  clientId: string
  clientSecret: string
  scope?: string | undefined
}

const TokenResponse = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.coerce.number().positive().optional()
})

export interface TokenSourceOptions {
  dispatcher: Dispatcher
  policy: NetworkPolicy
  timeoutMs: number
  now: () => number
  /** Lifetime assumed when the server gives no expires_in, ms. */
  defaultLifetimeMs?: number
  onFetch?: (result: 'ok' | 'error') => void
}

interface Cached { token: string, refreshAt: number }

/** The token endpoint answered, but not with a token. */
class TokenAnswerError extends Error {
  readonly statusCode: number
  constructor (message: string, statusCode: number) {
    super(message)
    this.name = 'TokenAnswerError'
    this.statusCode = statusCode
  }
}

/**
 * An outage of the token endpoint (no answer, a timeout, 408, 429, 5xx) lets events wait
 * without spending attempts, like an open circuit; a refusal of our client (other 4xx) or
 * an answer without a token spends them, so a misconfiguration ends in the dead-letter list.
 */
function tokenErrorCode (err: unknown): typeof DeliveryCodes.TOKEN_FAILED | typeof DeliveryCodes.TOKEN_UNAVAILABLE {
  if (!(err instanceof TokenAnswerError)) return DeliveryCodes.TOKEN_UNAVAILABLE
  const status = err.statusCode
  return status === 408 || status === 429 || status >= 500 ? DeliveryCodes.TOKEN_UNAVAILABLE : DeliveryCodes.TOKEN_FAILED
}

/**
 * OAuth2 client-credentials tokens, cached per (token_url, client_id, scope) until shortly
 * before they expire, with one request in flight per key however many deliveries wait.
 */
export function createTokenSource ({ dispatcher, policy, timeoutMs, now, defaultLifetimeMs = 3_600_000, onFetch }: TokenSourceOptions) {
  const cache = new Map<string, Cached>()
  const pending = new Map<string, Promise<string>>()
  const keyOf = (c: ClientCredentials) => JSON.stringify([c.tokenUrl, c.clientId, c.scope ?? ''])

  async function fetchToken (creds: ClientCredentials, key: string): Promise<string> {
    try {
      const { token, lifetimeMs } = await requestToken(creds)
      // Refresh a tenth of the lifetime early, at most a minute: a token never expires in flight.
      cache.set(key, { token, refreshAt: now() + lifetimeMs - Math.min(60_000, lifetimeMs / 10) })
      onFetch?.('ok')
      return token
    } catch (err) {
      onFetch?.('error')
      // A refused address (found in the cause chain undici builds) stays a refusal: dead-lettered, not retried.
      throw findDeliveryError(err) ?? new DeliveryError(tokenErrorCode(err), `token request failed: ${(err as Error).message}`, { retryable: true, cause: err })
    }
  }

  async function requestToken (creds: ClientCredentials): Promise<{ token: string, lifetimeMs: number }> {
    const url = new URL(creds.tokenUrl)
    assertUrlAllowed(url, policy)
    const form = new URLSearchParams({ grant_type: 'client_credentials' })
    if (creds.scope) form.set('scope', creds.scope)
    const basic = Buffer.from(`${encodeURIComponent(creds.clientId)}:${encodeURIComponent(creds.clientSecret)}`).toString('base64')
    const res = await request(url, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', authorization: `Basic ${basic}` },
      body: form.toString(),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs
    })
    const text = await readLimited(res.body).catch((err: Error) => { throw new TokenAnswerError(err.message, res.statusCode) })
    if (res.statusCode < 200 || res.statusCode >= 300) throw new TokenAnswerError(`token endpoint answered ${res.statusCode}`, res.statusCode)
    const parsed = TokenResponse.safeParse(safeJson(text))
    if (!parsed.success) throw new TokenAnswerError('token endpoint answered without an access_token', res.statusCode)
    return { token: parsed.data.access_token.trim(), lifetimeMs: (parsed.data.expires_in ?? defaultLifetimeMs / 1000) * 1000 }
  }

  return {
    async get (creds: ClientCredentials): Promise<string> {
      const key = keyOf(creds)
      const hit = cache.get(key)
      if (hit && now() < hit.refreshAt) return hit.token
      let inFlight = pending.get(key)
      if (!inFlight) {
        inFlight = fetchToken(creds, key).finally(() => pending.delete(key))
        pending.set(key, inFlight)
      }
      return await inFlight
    },
    /** Drops a token the receiver refused (401), unless a newer one replaced it already. */
    invalidate (creds: ClientCredentials, token: string): void {
      const key = keyOf(creds)
      if (cache.get(key)?.token === token) cache.delete(key)
    }
  }
}

// A token answer is a few hundred bytes; a token_url pointing at something else (a large or
// endless answer) must fail the fetch rather than be read whole into memory.
const MAX_TOKEN_ANSWER_BYTES = 64 * 1024

async function readLimited (body: AsyncIterable<Buffer> & { destroy (): void }): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.length
    if (size > MAX_TOKEN_ANSWER_BYTES) { body.destroy(); throw new Error(`token endpoint answer larger than ${MAX_TOKEN_ANSWER_BYTES} bytes`) }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function safeJson (text: string): unknown {
  try { return JSON.parse(text) } catch { return undefined }
}

export type TokenSource = ReturnType<typeof createTokenSource>
