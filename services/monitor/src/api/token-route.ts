import { ApiError, badRequest } from './errors.ts'
import { ErrorAnswer, TokenAnswer, TokenRequest } from './schemas.ts'
import type { Auth } from './auth.ts'
import type { RateLimiter, RateLimitHit } from './rate-limit.ts'
import type { RouteSpec } from './route-spec.ts'
import type { ApiMetrics } from './metrics.ts'
import type { Logger } from '@internal/telemetry'

/** POST /api/auth/token: client credentials in, a bearer token out; rate limited per client address. */
export function tokenRoute (auth: Auth, limiter: RateLimiter, metrics: ApiMetrics, log: Logger): RouteSpec {
  return {
    method: 'POST',
    url: '/api/auth/token',
    auth: false,
    summary: 'Exchange client credentials for a bearer token',
    body: TokenRequest,
    responses: {
      200: { description: 'token', schema: TokenAnswer },
      400: { description: 'bad input', schema: ErrorAnswer },
      401: { description: 'invalid credentials', schema: ErrorAnswer },
      429: { description: 'too many attempts from this address', schema: ErrorAnswer }
    },
    onRequest: async (request, reply) => {
      const hit = limiter.hit(request.ip)
      logRateLimit(log, request.ip, hit)
      if (hit.allowed) return
      metrics.rateLimited()
      return reply.code(429).header('retry-after', String(hit.retryAfterSec)).send({ error: 'Too many token requests; try again later' })
    },
    handler: async (request, reply) => {
      if (request.body === undefined || request.body === null) throw badRequest('No content provided')
      const parsed = TokenRequest.safeParse(request.body)
      if (!parsed.success) throw badRequest('Missing credentials', { message: 'client_id and client_secret are required' })
      const client = auth.findClient(parsed.data.client_id, parsed.data.client_secret)
      if (!client) {
        metrics.authFailure('credentials')
        log.warn({ ip: request.ip, client_id: parsed.data.client_id.slice(0, 64) }, 'api token refused: invalid credentials')
        throw new ApiError(401, 'Invalid credentials')
      }
      log.info({ client_id: client.client_id, scopes: client.scopes }, 'api token issued')
      return reply.header('cache-control', 'no-store').send(auth.issue(client))
    }
  }
}

// A flood would write one line per refused request; instead the first refusal of a window is
// logged and the rest counted, the count logged when the address's next window opens.
function logRateLimit (log: Logger, ip: string, hit: RateLimitHit): void {
  if (hit.refusedBefore > 0) log.warn({ ip, refused: hit.refusedBefore }, 'api token requests rate limited: refusals in the last window')
  if (hit.refused === 1) log.warn({ ip }, 'api token requests rate limited; further refusals in this window are counted')
}
