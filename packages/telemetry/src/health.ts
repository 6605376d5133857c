import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'

export interface Readiness {
  ready: boolean
  [detail: string]: unknown
}

export interface HealthDeps {
  registry: Registry
  /** Resolves the readiness answer; `ready: false` answers 503 with the same body. */
  readiness: () => Promise<Readiness>
}

/** `/health` (liveness), `/ready` (readiness) and `/metrics` (Prometheus), all unauthenticated. */
export function registerHealthRoutes (app: FastifyInstance, { registry, readiness }: HealthDeps): void {
  app.get('/health', async () => ({ status: 'ok' }))
  app.get('/ready', async (_req, reply) => {
    const { ready, ...detail } = await readiness()
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', ...detail })
  })
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()))
  // Outside the API too, an unknown path answers in the API's error shape (error, reason).
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: 'Not found', reason: 'not found' }))
}
