import type { FastifyReply, FastifyRequest } from 'fastify'
import type { z } from 'zod'

/**
 * One API route as data: the handler, and the zod schemas it parses with, from which the
 * OpenAPI document is generated.
 */
export interface RouteSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  url: string
  /**
   * The OpenAPI operationId (also the name code generators give the call); give one. Without
   * it the document derives one from the method and path, so a route added without it still
   * yields a valid document.
   */
  operationId?: string
  summary: string
  /** What the route does, for the docs; without it the summary stands in. */
  description?: string
  /** false for the token route and the documentation; every other route needs a bearer token. */
  auth: boolean
  query?: z.ZodType
  params?: z.ZodType
  /** The JSON body. */
  body?: z.ZodType
  /** Whether a request without a body is refused; default true when `body` is set. */
  bodyRequired?: boolean
  /** Other content types the route takes besides JSON, each with its schema. */
  bodyForms?: Record<string, z.ZodType>
  /** A per-client-address rate limit shared by every replica (@fastify/rate-limit). */
  rateLimit?: { max: number, timeWindow: number }
  responses: Record<number, { description: string, schema?: z.ZodType, contentType?: string }>
  /** Not listed in the OpenAPI document (the documentation page's own files). */
  hidden?: boolean
  handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
}
