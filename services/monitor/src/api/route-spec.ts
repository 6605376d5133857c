import type { FastifyReply, FastifyRequest } from 'fastify'
import type { z } from 'zod'

/**
 * One API route as data: the handler, and the zod schemas it parses with, from which the
 * OpenAPI document is generated.
 */
export interface RouteSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  url: string
  summary: string
  /** false only for the token route; every other route needs a bearer token. */
  auth: boolean
  query?: z.ZodType
  params?: z.ZodType
  body?: z.ZodType
  responses: Record<number, { description: string, schema?: z.ZodType }>
  /** Runs before the body is read (the token route's rate limit). */
  onRequest?: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
  handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
}
