import { createHash, randomUUID, timingSafeEqual } from 'node:crypto'
import jwt from 'jsonwebtoken'
import { z } from 'zod'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { errorBody } from './errors.ts'

export type Scope = 'read' | 'write'

export interface ApiClientEntry {
  client_id: string
  client_secret: string
  scopes: Scope[]
}

export interface AuthOptions {
  jwtSecret: string
  clients: ApiClientEntry[]
  tokenTtlSec: number
  now: () => number
}

const ISSUER = 'watch-folder-monitor'
const AUDIENCE = 'watch-folder-api'
const MIN_SECRET_BYTES = 32

// exp and iat are required, and a token may not live longer than the API issues them for: a
// leaked token without exp (or with a far one) would otherwise work for ever.
const claimsSchema = (maxLifetimeSec: number) => z.object({
  sub: z.string(),
  scopes: z.array(z.enum(['read', 'write'])),
  iat: z.number(),
  exp: z.number() // not integers only: api.token_ttl may be fractional
}).refine(c => c.exp > c.iat && c.exp - c.iat <= maxLifetimeSec, `exp must be after iat and at most ${maxLifetimeSec} s after it`)

// RFC 7235: the auth scheme is case-insensitive.
const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i

export type VerifyResult = { ok: true, sub: string, scopes: Scope[] } | { ok: false }

/** Issues and checks the API's bearer tokens: HS256 JWTs with an expiry and scopes. */
export function createAuth ({ jwtSecret, clients, tokenTtlSec, now }: AuthOptions) {
  if (Buffer.byteLength(jwtSecret) < MIN_SECRET_BYTES) throw new Error(`JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes`)
  if (clients.length === 0) throw new Error('no API client configured')
  const Claims = claimsSchema(tokenTtlSec)
  const hashed = clients.map(c => ({ id: digest(c.client_id), secret: digest(c.client_secret), client: c }))

  /** The client whose id and secret both match; every entry is compared, in constant time. */
  function findClient (clientId: string, clientSecret: string): ApiClientEntry | undefined {
    const id = digest(clientId)
    const secret = digest(clientSecret)
    let found: ApiClientEntry | undefined
    for (const entry of hashed) {
      const idOk = timingSafeEqual(id, entry.id)
      const secretOk = timingSafeEqual(secret, entry.secret)
      if (idOk && secretOk && !found) found = entry.client
    }
    return found
  }

  function issue (client: ApiClientEntry) {
    const iat = Math.floor(now() / 1000)
    const claims = { sub: client.client_id, scopes: client.scopes, iat, exp: iat + tokenTtlSec, jti: randomUUID() }
    const accessToken = jwt.sign(claims, jwtSecret, { algorithm: 'HS256', issuer: ISSUER, audience: AUDIENCE })
    return { access_token: accessToken, token_type: 'Bearer' as const, expires_in: tokenTtlSec, scope: client.scopes.join(' ') }
  }

  function verify (token: string): VerifyResult {
    try {
      const payload = jwt.verify(token, jwtSecret, {
        algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE, clockTimestamp: Math.floor(now() / 1000)
      })
      const claims = Claims.safeParse(payload)
      return claims.success ? { ok: true, sub: claims.data.sub, scopes: claims.data.scopes } : { ok: false }
    } catch {
      return { ok: false }
    }
  }

  return { findClient, issue, verify }
}

export type Auth = ReturnType<typeof createAuth>

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** GET and HEAD read; everything else writes. */
export function requiredScope (method: string): Scope {
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write'
}

/** The onRequest hook of every protected route: 401 without a valid token, 403 with too narrow a scope. */
export function bearerHook (auth: Auth, onFailure: (reason: string, request: FastifyRequest) => void) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization
    const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined
    if (token === undefined) {
      onFailure('missing', request)
      return reply.code(401).header('www-authenticate', 'Bearer')
        .send(errorBody(401, 'Authentication required', { message: 'Use Bearer token authentication', field: 'authorization', reason: 'no bearer token' }))
    }
    const result = auth.verify(token)
    if (!result.ok) {
      onFailure('invalid', request)
      return reply.code(401).header('www-authenticate', 'Bearer error="invalid_token"').send(errorBody(401, 'Invalid or expired token', { field: 'authorization', reason: 'invalid or expired token' }))
    }
    const scope = requiredScope(request.method)
    if (!result.scopes.includes(scope)) {
      onFailure('scope', request)
      return reply.code(403).header('www-authenticate', `Bearer error="insufficient_scope", scope="${scope}"`)
        .send(errorBody(403, 'Insufficient scope', { required_scope: scope, reason: `needs the ${scope} scope` }))
    }
  }
}
