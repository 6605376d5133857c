import type { FastifyError, FastifyInstance } from 'fastify'
import type { z } from 'zod'
import type { Logger } from '@internal/telemetry'
import { createRefusalLog } from './refusal-log.ts'

// Every error answer has one shape: `error` (the message, as the Python service worded it),
// `reason` (why, in a few words) and, when one field of the request is at fault, `field`.
const STATUS_REASONS: Record<number, string> = {
  400: 'invalid request',
  401: 'not authenticated',
  403: 'insufficient scope',
  404: 'not found',
  409: 'already exists',
  413: 'body too large',
  415: 'unsupported content type',
  422: 'refused by the object store',
  429: 'rate limited',
  500: 'internal error',
  503: 'unavailable'
}

/** The body of an error answer: `error`, `reason` (a default per status) and whatever `extra` adds. */
export function errorBody (statusCode: number, error: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { error, reason: STATUS_REASONS[statusCode] ?? 'error', ...extra }
}

/** An answer the API gives on purpose: a status code and an `errorBody`. */
export class ApiError extends Error {
  readonly statusCode: number
  readonly body: Record<string, unknown>

  constructor (statusCode: number, error: string, extra: Record<string, unknown> = {}) {
    super(error)
    this.name = 'ApiError'
    this.statusCode = statusCode
    this.body = errorBody(statusCode, error, extra)
  }
}

/** Retry-After of a 503 while Redis is unreachable or not answering, seconds. */
export const REDIS_RETRY_AFTER_SEC = 5

/**
 * Redis did not answer in time (refused, frozen or a write refused past its deadline): 503
 * with `code: REDIS_UNAVAILABLE` and Retry-After. Whatever the request wrote either ran before
 * this answer or never will (see createWriteDeadline).
 */
export class RedisUnavailableError extends ApiError {
  readonly code = 'REDIS_UNAVAILABLE'

  constructor (cause: unknown) {
    super(503, 'Redis is unavailable; try again later', { code: 'REDIS_UNAVAILABLE' })
    this.name = 'RedisUnavailableError'
    this.cause = cause
  }
}

// What ioredis rejects with on a bounded connection when the server is down or frozen.
const UNAVAILABLE_MESSAGES = ['Command timed out', "Stream isn't writeable and enableOfflineQueue options is false", 'Connection is closed.']

/** Whether `err` says Redis could not be reached or did not answer in time. */
export function isRedisUnavailable (err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const code = (err as { code?: unknown }).code
  return code === 'REDIS_WRITE_DEADLINE_PASSED' || err.name === 'MaxRetriesPerRequestError' || UNAVAILABLE_MESSAGES.includes(err.message)
}

/** 404 for an event the history does not hold (never recorded, or expired). */
export class EventNotFoundError extends ApiError {
  readonly code = 'EVENT_NOT_FOUND'
  constructor (eventId: string) {
    super(404, `Event ${eventId} not found (unknown, or its history expired)`, { code: 'EVENT_NOT_FOUND' })
    this.name = 'EventNotFoundError'
  }
}

export const badRequest = (error: string, extra?: Record<string, unknown>) => new ApiError(400, error, extra)
export const notFound = (error: string) => new ApiError(404, error)

/**
 * Parses `input` with `schema`, or throws a 400 that names the field and the reason. Missing
 * required fields are all listed (`fields`), the message worded as the Python service did for
 * one (`Missing required field: name`).
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
  const missing = [...new Set(issues.filter(i => i.path.length > 0 && valueAt(input, i.path) === undefined && i.code === 'invalid_type').map(i => i.path.join('.')))]
  if (missing.length > 0) {
    const [field] = missing as [string]
    const list = missing.join(', ')
    if (what === 'query') return badRequest(missing.length === 1 ? `Missing ${field} parameter` : `Missing parameters: ${list}`, { field, fields: missing, reason: 'required' })
    return badRequest(missing.length === 1 ? `Missing required field: ${field}` : `Missing required fields: ${list}`, { field, fields: missing, reason: 'required' })
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
export function installErrorHandler (app: FastifyInstance, log: Logger, now: () => number): void {
  // An outage fails every request: the first of each 10 s is logged with its cause, the rest counted.
  const outages = createRefusalLog({
    log,
    windowMs: 10_000,
    now,
    keyName: 'dependency',
    first: 'api request failed: redis unavailable; further failures in this window are counted',
    summary: 'api requests failed: redis unavailable: failures in the last window'
  })
  app.setErrorHandler((err: FastifyError | ApiError, request, reply) => {
    if (!(err instanceof ApiError) && isRedisUnavailable(err)) err = new RedisUnavailableError(err)
    if (err instanceof RedisUnavailableError) {
      outages('redis', true, { err: err.cause, method: request.method, route: request.routeOptions.url })
      reply.header('retry-after', String(REDIS_RETRY_AFTER_SEC))
    }
    if (err instanceof ApiError) return reply.code(err.statusCode).send(err.body)
    const status = err.statusCode ?? 500
    if (status >= 400 && status < 500) {
      return reply.code(status).send(errorBody(status, clientMessage(err), { code: err.code }))
    }
    log.error({ err, method: request.method, route: request.routeOptions.url }, 'api request failed')
    return reply.code(500).send(errorBody(500, 'Internal server error'))
  })
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(errorBody(404, 'Not found')))
}

function clientMessage (err: FastifyError): string {
  if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) return `Invalid JSON: ${err.message}`
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'Request body is too large'
  if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'No content provided'
  return err.message
}
