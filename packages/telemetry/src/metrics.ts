import { Registry, collectDefaultMetrics } from 'prom-client'

export { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** A registry of its own per service (and per test), with the process metrics on it. */
export function createRegistry (opts: { service: string, defaults?: boolean }): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ service: opts.service })
  if (opts.defaults ?? true) collectDefaultMetrics({ register: registry })
  return registry
}
