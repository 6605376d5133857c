import { Gauge, Registry, collectDefaultMetrics } from 'prom-client'

export { Counter, Gauge, Histogram, Registry } from 'prom-client'

/** A gauge that reads, at each scrape, whether bucket config changes arrive through pub/sub. */
export function trackConfigSubscription (registry: Registry, isUp: () => boolean): Gauge {
  return new Gauge({
    name: 'watch_folder_config_subscription_up',
    help: '1 while bucket config changes arrive through pub/sub, 0 while only the periodic check sees them',
    registers: [registry],
    collect () { this.set(isUp() ? 1 : 0) }
  })
}

/**
 * A registry of its own per service (and per test), with the process metrics on it. No label
 * names the service: Prometheus's `job` (one per scraped Deployment) already does.
 */
export function createRegistry (opts: { defaults?: boolean } = {}): Registry {
  const registry = new Registry()
  if (opts.defaults ?? true) collectDefaultMetrics({ register: registry })
  return registry
}
