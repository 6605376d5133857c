import { ApiError } from './errors.ts'
import { ErrorAnswer, OAuthTokenForm, TokenAnswer, TokenRequest } from './schemas.ts'
import { oauthError, readTokenRequest, type TokenClaim } from './token-request.ts'
import type { Auth, ApiClientEntry, Scope } from './auth.ts'
import type { RouteSpec } from './route-spec.ts'
import type { ApiMetrics } from './metrics.ts'
import type { Logger } from '@internal/telemetry'

/** The token route's rate limit per client address, in a window of a minute, shared by every replica. */
export const TOKEN_WINDOW_MS = 60_000

/**
 * POST /api/auth/token: client credentials in (a JSON body, or RFC 6749 §4.4 as a
 * form with the client in the body or HTTP Basic), a bearer token out.
 */
export function tokenRoute (auth: Auth, limit: number, metrics: ApiMetrics, log: Logger): RouteSpec {
  return {
    method: 'POST',
    url: '/api/auth/token',
    auth: false,
    operationId: 'getToken',
    summary: 'Exchange client credentials for a bearer token',
    description: 'OAuth2 client credentials (RFC 6749 section 4.4). Send either the JSON body `{"client_id", "client_secret"}`, or ' +
      '`grant_type=client_credentials` as application/x-www-form-urlencoded with the client in the body or in HTTP Basic; ' +
      'a form or Basic request gets RFC 6749 error codes (`invalid_client`, `invalid_request`, `unsupported_grant_type`, `invalid_scope`) in `error`. ' +
      'Rate limited to api.token_rate_limit requests per client address and minute across every replica (RateLimit-* headers; 429 with Retry-After).',
    body: TokenRequest,
    bodyForms: { 'application/x-www-form-urlencoded': OAuthTokenForm },
    rateLimit: { max: limit, timeWindow: TOKEN_WINDOW_MS },
    responses: {
      200: { description: 'A bearer token (HS256 JWT) with the client\'s scopes', schema: TokenAnswer },
      400: { description: 'No body, a malformed one, an unsupported grant type or a scope the client lacks', schema: ErrorAnswer },
      401: { description: 'Unknown client or wrong secret', schema: ErrorAnswer },
      429: { description: 'Too many token requests from this address in this minute (Retry-After says when to try again)', schema: ErrorAnswer }
    },
    handler: async (request, reply) => {
      const claim = readTokenRequest(request)
      const client = auth.findClient(claim.clientId, claim.clientSecret)
      if (!client) {
        metrics.authFailure('credentials')
        log.warn({ ip: request.ip, client_id: claim.clientId.slice(0, 64) }, 'api token refused: invalid credentials')
        if (claim.basic) reply.header('www-authenticate', 'Basic realm="watch-folder"')
        throw claim.style === 'oauth' ? oauthError(401, 'invalid_client', 'unknown client or wrong secret') : new ApiError(401, 'Invalid credentials')
      }
      const granted = grantedClient(client, claim)
      log.info({ client_id: client.client_id, scopes: granted.scopes }, 'api token issued')
      return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(auth.issue(granted))
    }
  }
}

// A requested scope narrows the token to it; asking for one the client lacks is invalid_scope.
function grantedClient (client: ApiClientEntry, claim: TokenClaim): ApiClientEntry {
  if (claim.scope === undefined || claim.scope.length === 0) return client
  const extra = claim.scope.filter(s => !client.scopes.includes(s as Scope))
  if (extra.length > 0) throw oauthError(400, 'invalid_scope', `this client has no scope ${extra.join(', ')}`, 'scope')
  return { ...client, scopes: claim.scope as Scope[] }
}
