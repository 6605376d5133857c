import type { FastifyError, FastifyInstance } from 'fastify'
import type { z } from 'zod'
import type { Logger } from '@internal/telemetry'

/** An answer the API gives on purpose: a status code and the original's `{"error": ...}` body. */
export class ApiError extends Error {
  readonly statusCode: number
  readonly body: Record<string, unknown>

  constructor (statusCode: number, error: string, extra: Record<string, unknown> = {}) {
    super(error)
    this.name = 'ApiError'
    this.statusCode = statusCode
    this.body = { error, ...extra }
  }
}

export const badRequest = (error: string, extra?: Record<string, unknown>) => new ApiError(400, error, extra)
export const notFound = (error: string) => new ApiError(404, error)

/**
 * Parses `input` with `schema`, or throws a 400 that names the field and the reason. A missing
 * required field keeps the original's message (`Missing required field: name`).
 */
export function parseInput<S extends z.ZodType> (schema: S, input: unknown, what = 'body'): z.infer<S> {
  if (what === 'body' && (input === null || typeof input !== 'object' || Array.isArray(input))) {
    throw badRequest('Request body must be a JSON object')
  }
  let result: z.ZodSafeParseResult<z.infer<S>>
  try {
    result = schema.safeParse(input)
  } catch {
    throw badRequest('Request could not be validated') // a schema check that throws is still bad input, not a 500
  }
  if (result.success) return result.data
  throw issueToError(result.error.issues, input, what)
}

function issueToError (issues: z.core.$ZodIssue[], input: unknown, what: string): ApiError {
  const missing = issues.find(i => i.path.length > 0 && valueAt(input, i.path) === undefined && i.code === 'invalid_type')
  if (missing) {
    const field = missing.path.join('.')
    return badRequest(what === 'query' ? `Missing ${field} parameter` : `Missing required field: ${field}`, { field })
  }
  const unknown = issues.find(i => i.code === 'unrecognized_keys')
  if (unknown && unknown.code === 'unrecognized_keys') {
    const field = [...unknown.path, unknown.keys[0]].join('.')
    return badRequest(`Unknown field: ${field}`, { field, reason: 'not a field of this request' })
  }
  const first = issues[0]
  const field = first?.path.join('.') || '(root)'
  const reason = first?.message ?? 'invalid'
  return badRequest(`Invalid field ${field}: ${reason}`, { field, reason })
}

function valueAt (input: unknown, path: PropertyKey[]): unknown {
  let value: any = input
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined
    value = value[part as string]
  }
  return value
}

/**
 * Turns every error inside the API into a JSON answer. Fastify's own 4xx (bad JSON, body too
 * large, wrong content type) keep their status; anything else is a 500 without internals.
 */
export function installErrorHandler (app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((err: FastifyError | ApiError, request, reply) => {
    if (err instanceof ApiError) return reply.code(err.statusCode).send(err.body)
    const status = err.statusCode ?? 500
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ error: clientMessage(err), code: err.code })
    }
    log.error({ err, method: request.method, route: request.routeOptions.url }, 'api request failed')
    return reply.code(500).send({ error: 'Internal server error' })
  })
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'Not found' }))
}

function clientMessage (err: FastifyError): string {
  if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) return `Invalid JSON: ${err.message}`
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'Request body is too large'
  if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'No content provided'
  return err.message
}
