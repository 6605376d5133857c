import type { FastifyRequest } from 'fastify'
import { ApiError, badRequest } from './errors.ts'
import { OAuthTokenForm, TokenRequest } from './schemas.ts'

/** The client a token request names, and how the answer should be shaped. */
export interface TokenClaim {
  clientId: string
  clientSecret: string
  /** Scopes asked for (`scope` of RFC 6749 §3.3); undefined: every scope of the client. */
  scope?: string[]
  /** `oauth`: a form body or HTTP Basic, answered with RFC 6749 §5.2 error codes; `json`: the JSON body and messages the Python monitor answered. */
  style: 'oauth' | 'json'
  basic: boolean
}

/**
 * Reads a token request in either form: the JSON body `{client_id, client_secret}`,
 * or RFC 6749 §4.4 `grant_type=client_credentials` as application/x-www-form-urlencoded with
 * the client in the body (§2.3.1) or in HTTP Basic.
 */
export function readTokenRequest (request: FastifyRequest): TokenClaim {
  const basic = basicCredentials(request.headers.authorization)
  const form = /^application\/x-www-form-urlencoded\b/i.test(request.headers['content-type'] ?? '')
  if (!form && !basic) return readJson(request.body)
  const parsed = OAuthTokenForm.safeParse(request.body ?? {})
  if (!parsed.success) {
    const field = String(parsed.error.issues[0]?.path[0] ?? 'grant_type')
    throw oauthError(400, 'invalid_request', `${field}: ${parsed.error.issues[0]?.message ?? 'invalid'}`, field)
  }
  const body = parsed.data
  if (body.grant_type !== 'client_credentials') throw oauthError(400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported', 'grant_type')
  if (basic && (body.client_id !== undefined || body.client_secret !== undefined)) {
    throw oauthError(400, 'invalid_request', 'give the client either in HTTP Basic or in the body, not both', 'client_id')
  }
  const id = basic?.id ?? body.client_id
  const secret = basic?.secret ?? body.client_secret
  if (id === undefined) throw oauthError(401, 'invalid_client', 'no client authentication: client_id and client_secret in the body or HTTP Basic', 'client_id')
  if (secret === undefined) throw oauthError(401, 'invalid_client', 'client_secret is missing', 'client_secret')
  return { clientId: id, clientSecret: secret, scope: body.scope?.split(' ').filter(Boolean), style: 'oauth', basic: basic !== undefined }
}

function readJson (body: unknown): TokenClaim {
  if (body === undefined || body === null) throw badRequest('No content provided')
  const parsed = TokenRequest.safeParse(body)
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map(i => String(i.path[0] ?? 'client_id')))]
    throw badRequest('Missing credentials', { message: 'client_id and client_secret are required', field: fields[0], fields })
  }
  return { clientId: parsed.data.client_id, clientSecret: parsed.data.client_secret, style: 'json', basic: false }
}

/** An RFC 6749 §5.2 error answer: `error` is the code, `error_description` the text. */
export function oauthError (status: 400 | 401, code: string, description: string, field?: string): ApiError {
  return new ApiError(status, code, { error_description: description, reason: description, ...(field && { field }) })
}

// RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined for Basic.
function basicCredentials (header: string | undefined): { id: string, secret: string } | undefined {
  const match = /^basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(header ?? '')
  if (!match) return undefined
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) throw oauthError(401, 'invalid_client', 'HTTP Basic credentials must be client_id:client_secret', 'authorization')
  try {
    return { id: decodeForm(decoded.slice(0, colon)), secret: decodeForm(decoded.slice(colon + 1)) }
  } catch {
    throw oauthError(401, 'invalid_client', 'HTTP Basic credentials are not form-urlencoded', 'authorization')
  }
}

const decodeForm = (s: string) => decodeURIComponent(s.replaceAll('+', ' '))
