import { z } from 'zod'
import type { RouteSpec } from './route-spec.ts'
import { ErrorAnswer, SCHEMA_DOCS } from './schemas.ts'

// Every route's error answers beyond its own: what auth, body parsing, Redis and the server
// itself can answer.
const AUTH_RESPONSES: RouteSpec['responses'] = {
  401: { description: 'No token, or an invalid or expired one', schema: ErrorAnswer },
  403: { description: 'The token lacks the scope (read for GET, write otherwise)', schema: ErrorAnswer }
}
const BODY_RESPONSES: RouteSpec['responses'] = {
  400: { description: 'Bad input: the answer names the field and the reason', schema: ErrorAnswer },
  413: { description: 'The body exceeds api.body_limit_bytes', schema: ErrorAnswer },
  415: { description: 'A content type or charset the route does not take', schema: ErrorAnswer }
}
const COMMON_RESPONSES: RouteSpec['responses'] = {
  500: { description: 'Internal error (no details in the answer; the log has them)', schema: ErrorAnswer },
  503: { description: 'Redis is unavailable (code REDIS_UNAVAILABLE, Retry-After: 5)', schema: ErrorAnswer }
}
const TAG_DESCRIPTIONS: Record<string, string> = {
  auth: 'Tokens for the API',
  buckets: 'The watched buckets: add, change, delete, show, scan',
  notifications: 'A bucket\'s webhooks on or off, and every bucket\'s status',
  'dead-letters': 'Events the consumer gave up on: list, replay, purge',
  subscriptions: 'Receivers of a bucket\'s events, each with its own filters and format',
  events: 'Delivery history and the live activity stream',
  meta: 'This document'
}

const RATE_HEADERS = {
  'RateLimit-Limit': { description: 'Token requests allowed per address and minute', schema: { type: 'integer' } },
  'RateLimit-Remaining': { description: 'Requests left in this minute', schema: { type: 'integer' } },
  'RateLimit-Reset': { description: 'Seconds until the window ends', schema: { type: 'integer' } }
}
const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } } }

/** The headers an answer carries: the rate limit's on a rate-limited route, Retry-After on 429 and 503. */
function headersOf (route: RouteSpec, status: string) {
  const headers = { ...(route.rateLimit && RATE_HEADERS), ...((status === '429' || status === '503') && RETRY_AFTER) }
  return Object.keys(headers).length > 0 ? { headers } : {}
}

const refName = new Map<z.ZodType, string>(Object.entries(SCHEMA_DOCS).map(([name, doc]) => [doc.schema, name]))

function toSchema (schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const name = refName.get(schema)
  if (name) return { $ref: `#/components/schemas/${name}` }
  return z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' }) as Record<string, unknown>
}

/** The OpenAPI 3.0 document of the routes, generated from the zod schemas they parse with. */
export function openApiDocument (routes: RouteSpec[], serverUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of routes.filter(r => !r.hidden)) {
    const path = route.url.replace(/:([a-z_]+)/g, '{$1}')
    paths[path] ??= {}
    paths[path][route.method.toLowerCase()] = operation(route)
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'watch-folder monitor API',
      version: '1.0.0',
      description: 'Manage the S3 buckets watch-folder watches and the webhooks it sends. Get a token from POST /api/auth/token (OAuth2 client credentials), then send it as `Authorization: Bearer TOKEN`; GET needs the read scope, everything else write. Every error answer is `{"error", "reason", "field"}`.'
    },
    servers: [{ url: serverUrl, description: 'This monitor' }],
    tags: usedTags(paths),
    components: {
      securitySchemes: {
        oauth2: {
          type: 'oauth2',
          description: 'OAuth2 client credentials; the token is an HS256 JWT valid for api.token_ttl seconds.',
          flows: { clientCredentials: { tokenUrl: '/api/auth/token', scopes: { read: 'GET routes', write: 'every other route' } } }
        },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A token from POST /api/auth/token, with the scopes it was issued with (read, write)' }
      },
      schemas: Object.fromEntries(Object.entries(SCHEMA_DOCS).map(([name, doc]) => [name, {
        ...z.toJSONSchema(doc.schema, { io: doc.io, unrepresentable: 'any', target: 'openapi-3.0' }), description: doc.description
      }]))
    },
    paths
  }
}

function operation (route: RouteSpec) {
  const scope = route.method === 'GET' ? 'read' : 'write'
  const takesInput = route.body !== undefined || route.query !== undefined || route.params !== undefined
  const responses = {
    ...(takesInput && BODY_RESPONSES),
    ...(route.auth && AUTH_RESPONSES),
    ...(route.auth || route.rateLimit ? COMMON_RESPONSES : { 500: COMMON_RESPONSES[500]! }),
    ...route.responses
  }
  return {
    operationId: route.operationId ?? derivedOperationId(route),
    tags: [tagOf(route.url)],
    summary: route.summary,
    description: route.description ?? route.summary,
    security: route.auth ? [{ oauth2: [scope] }, { bearer: [] }] : [],
    parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
    ...(route.body && { requestBody: requestBody(route) }),
    responses: Object.fromEntries(Object.entries(responses).map(([status, r]) => [status, {
      description: r.description,
      ...headersOf(route, status),
      ...(r.schema && { content: { [r.contentType ?? 'application/json']: { schema: toSchema(r.schema, 'output') } } }),
      ...(!r.schema && r.contentType && { content: { [r.contentType]: { schema: { type: 'object' } } } })
    }]))
  }
}

// GET /api/buckets/:name/subscriptions -> getBucketsNameSubscriptions
function derivedOperationId (route: RouteSpec): string {
  const words = route.url.replace(/^\/api\//, '').split(/[^A-Za-z0-9]+/).filter(Boolean)
  return [route.method.toLowerCase(), ...words.map(w => w[0]!.toUpperCase() + w.slice(1))].join('')
}

function requestBody (route: RouteSpec) {
  const forms = Object.entries(route.bodyForms ?? {}).map(([type, schema]) => [type, { schema: toSchema(schema, 'input') }])
  return {
    required: route.bodyRequired ?? true,
    description: route.bodyRequired === false ? 'Optional: the route takes no body too.' : 'The fields of the request.',
    content: { 'application/json': { schema: toSchema(route.body!, 'input') }, ...Object.fromEntries(forms) }
  }
}

// Only tags some operation uses: Redocly warns about a declared tag no operation has.
function usedTags (paths: Record<string, Record<string, unknown>>) {
  const used = new Set(Object.values(paths).flatMap(methods => Object.values(methods).flatMap(op => (op as { tags: string[] }).tags)))
  return Object.entries(TAG_DESCRIPTIONS).filter(([tag]) => used.has(tag)).map(([tag, description]) => ({ name: tag, description }))
}

function tagOf (url: string): string {
  if (url.startsWith('/api/auth')) return 'auth'
  if (url.includes('/subscriptions')) return 'subscriptions'
  if (url.startsWith('/api/bucket-notifications')) return 'notifications'
  if (url.startsWith('/api/dead-letters')) return 'dead-letters'
  if (url.startsWith('/api/events') || url.startsWith('/api/activity')) return 'events'
  if (url.startsWith('/api/buckets')) return 'buckets'
  return 'meta'
}

function parameters (schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!schema) return []
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'openapi-3.0' }) as { properties?: Record<string, { description?: string }>, required?: string[] }
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name, in: where, required: where === 'path' || (json.required ?? []).includes(name), description: s.description ?? PARAMETER_DOCS[name] ?? name, schema: s
  }))
}

const PARAMETER_DOCS: Record<string, string> = {
  name: 'The bucket\'s name',
  bucket: 'The bucket\'s name',
  id: 'The id',
  forget: 'Drop the object state first, so every object is announced again',
  offset: 'How many entries to skip, newest first',
  limit: 'How many entries to answer at most'
}
