import { z } from 'zod'
import type { RouteSpec } from './route-spec.ts'
import { ErrorAnswer } from './schemas.ts'

const AUTH_RESPONSES: RouteSpec['responses'] = {
  401: { description: 'no token, or an invalid or expired one', schema: ErrorAnswer },
  403: { description: 'the token lacks the scope (read for GET, write otherwise)', schema: ErrorAnswer }
}

const toSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' })

/** The OpenAPI 3.0 document of the routes, generated from the zod schemas they parse with. */
export function openApiDocument (routes: RouteSpec[]) {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of routes) {
    const path = route.url.replace(/:([a-z]+)/g, '{$1}')
    paths[path] ??= {}
    paths[path][route.method.toLowerCase()] = operation(route)
  }
  return {
    openapi: '3.0.3',
    info: { title: 'watch-folder monitor API', version: '1.0.0' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    paths
  }
}

function operation (route: RouteSpec) {
  return {
    summary: route.summary,
    ...(route.auth && { security: [{ bearer: [] }] }),
    parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
    ...(route.body && { requestBody: { required: true, content: { 'application/json': { schema: toSchema(route.body, 'input') } } } }),
    responses: Object.fromEntries(Object.entries({ ...route.responses, ...(route.auth && AUTH_RESPONSES) }).map(([status, r]) => [status, {
      description: r.description,
      ...(r.schema && { content: { 'application/json': { schema: toSchema(r.schema, 'output') } } })
    }]))
  }
}

function parameters (schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!schema) return []
  const json = toSchema(schema, 'input') as { properties?: Record<string, unknown>, required?: string[] }
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name, in: where, required: where === 'path' || (json.required ?? []).includes(name), schema: s
  }))
}
