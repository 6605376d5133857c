import { Counter, Gauge, type Registry } from '@internal/telemetry'
import type { CachedSecretStore } from '@internal/buckets'

export interface ApiMetrics {
  request (route: string, method: string, status: number): void
  authFailure (reason: string): void
  rateLimited (): void
}

/** The API's metrics on the service's registry; a no-op set when there is no registry (tests). */
export function createApiMetrics (registry: Registry | undefined, secrets: CachedSecretStore): ApiMetrics {
  if (!registry) return { request () {}, authFailure () {}, rateLimited () {} }
  const requests = new Counter({ name: 'watch_folder_api_requests_total', help: 'API requests by route and status', labelNames: ['route', 'method', 'status'], registers: [registry] })
  const failures = new Counter({ name: 'watch_folder_api_auth_failures_total', help: 'Refused API authentications by reason (missing, invalid, scope, credentials)', labelNames: ['reason'], registers: [registry] })
  const limited = new Counter({ name: 'watch_folder_api_token_rate_limited_total', help: 'Token requests refused by the per-address rate limit', registers: [registry] })
  new Gauge({ // eslint-disable-line no-new
    name: 'watch_folder_secret_store_up',
    help: 'Whether the last secret store call succeeded (0 while Infisical is unreachable)',
    labelNames: ['store'],
    registers: [registry],
    collect () { this.set({ store: secrets.kind }, secrets.health().ok ? 1 : 0) }
  })
  new Gauge({ // eslint-disable-line no-new
    name: 'watch_folder_secret_store_degraded',
    help: 'Whether secrets are being served from the cache because the backend failed',
    labelNames: ['store'],
    registers: [registry],
    collect () { this.set({ store: secrets.kind }, secrets.health().degraded ? 1 : 0) }
  })
  return {
    request: (route, method, status) => requests.inc({ route, method, status: String(status) }),
    authFailure: reason => failures.inc({ reason }),
    rateLimited: () => limited.inc()
  }
}
