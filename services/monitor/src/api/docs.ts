import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { FastifyInstance } from 'fastify'

// /api/docs: Swagger UI over /api/openapi.json, its files served from the swagger-ui-dist
// package (nothing from a CDN, so the page works where the monitor has no internet access).
// No token needed to read it; "Authorize" gets one through the client-credentials flow.

const dist = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>watch-folder API</title><link rel="stylesheet" href="/api/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="/api/docs/swagger-ui-bundle.js"></script><script src="/api/docs/init.js"></script></body>
</html>
`
const INIT = 'window.ui = SwaggerUIBundle({ url: \'/api/openapi.json\', dom_id: \'#swagger-ui\', displayOperationId: true, deepLinking: true })\n'

const FILES: Record<string, { type: string, body: () => string }> = {
  'swagger-ui.css': { type: 'text/css; charset=utf-8', body: () => readFileSync(join(dist, 'swagger-ui.css'), 'utf8') },
  'swagger-ui-bundle.js': { type: 'text/javascript; charset=utf-8', body: () => readFileSync(join(dist, 'swagger-ui-bundle.js'), 'utf8') },
  'init.js': { type: 'text/javascript; charset=utf-8', body: () => INIT }
}

/** Registers GET /docs and its files on the API's scope (prefix /api). */
export function registerDocs (api: FastifyInstance): void {
  const cache = new Map<string, string>()
  api.get('/docs', async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE))
  api.get<{ Params: { file: string } }>('/docs/:file', async (request, reply) => {
    const file = FILES[request.params.file]
    if (!file) return reply.callNotFound()
    let body = cache.get(request.params.file)
    if (body === undefined) { body = file.body(); cache.set(request.params.file, body) }
    return reply.type(file.type).header('cache-control', 'public, max-age=3600').send(body)
  })
}
