import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ApiError } from './errors.ts'

// application/x-www-form-urlencoded (the token route's RFC 6749 form): a repeated parameter
// is kept as a list, which the route's schema then refuses (RFC 6749 §3.1).
export function installFormParser (api: FastifyInstance, bodyLimit: number): void {
  api.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit }, (_request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
    const form: Record<string, string | string[]> = {}
    for (const [key, value] of new URLSearchParams(body.toString())) {
      const seen = form[key]
      form[key] = seen === undefined ? value : [...[seen].flat(), value]
    }
    done(null, form)
  })
}

// JSON bodies parsed here rather than by fastify's default parser so that an empty body on
// the query-only POST routes is no error, and a malformed one is a 400 in our error shape.
export function installJsonParser (api: FastifyInstance, bodyLimit: number): void {
  api.removeContentTypeParser('application/json')
  api.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
    const charset = foreignCharset(request.headers['content-type'])
    if (charset !== undefined) return done(new ApiError(415, `Unsupported charset ${charset}: send JSON as UTF-8 (RFC 8259)`, { field: 'content-type' }))
    const text = body.toString()
    if (text.trim() === '') return done(null, undefined)
    try {
      done(null, JSON.parse(text))
    } catch (err) {
      done(new ApiError(400, `Invalid JSON: ${(err as Error).message}`))
    }
  })
}

// JSON is UTF-8 (RFC 8259); a body labelled otherwise would be misread as UTF-8, so it is refused.
function foreignCharset (contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? '')
  if (!match) return undefined
  const charset = (match[1] ?? '').toLowerCase()
  return charset === 'utf-8' || charset === 'utf8' ? undefined : charset
}
