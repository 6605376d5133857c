import { Counter, Gauge, Histogram, type Registry } from '@internal/telemetry'
import type { QueueDepths } from '@internal/redis'
import type { BreakerState } from './breaker.ts'
import type { SubscriptionGauge } from './subscription-gauges.ts'

const BREAKER_STATES: BreakerState[] = ['closed', 'half_open', 'open']

/** The consumer's metrics on an injected registry; the queue depths are read at scrape time. */
export function createConsumerMetrics (registry: Registry, depths: () => Promise<QueueDepths>, subscriptions: () => Promise<SubscriptionGauge[]> = async () => []) {
  const registers = [registry]
  subscriptionMetrics(registers, subscriptions)
  const depthGauge = new Gauge({
    name: 'watch_folder_queue_depth',
    help: 'Entries in the delivery lists (queue, processing, retry, dead_letter)',
    labelNames: ['list'],
    registers,
    async collect () {
      const d = await depths().catch(() => undefined)
      if (!d) return
      this.set({ list: 'queue' }, d.queue)
      this.set({ list: 'processing' }, d.processing)
      this.set({ list: 'retry' }, d.retry)
      this.set({ list: 'dead_letter' }, d.deadLetter)
    }
  })
  const breaker = new Gauge({ name: 'watch_folder_breaker_state', help: 'Circuit state per endpoint origin: 1 on the series of the current state (closed, half_open, open), 0 on the others', labelNames: ['endpoint', 'state'], registers })
  return {
    depthGauge,
    deliveries: new Counter({ name: 'watch_folder_deliveries_total', help: 'Settled entries by outcome: delivered, retry, dead, deferred, parked, skipped, fanned_out', labelNames: ['outcome'], registers }),
    duration: new Histogram({ name: 'watch_folder_delivery_duration_seconds', help: 'Time from sending a webhook to its answer', registers, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] }),
    latency: new Histogram({ name: 'watch_folder_detection_to_delivery_seconds', help: 'Time from detection by the monitor to a delivered webhook', registers, buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600] }),
    retries: new Counter({ name: 'watch_folder_retries_total', help: 'Attempts scheduled for a later retry', registers }),
    tokenFetches: new Counter({ name: 'watch_folder_token_fetches_total', help: 'OAuth2 token requests by result', labelNames: ['result'], registers }),
    reclaimed: new Counter({ name: 'watch_folder_reclaimed_total', help: 'Entries returned to the queue from silent consumers', registers }),
    breakerState (endpoint: string, state: BreakerState) { for (const s of BREAKER_STATES) breaker.set({ endpoint, state: s }, s === state ? 1 : 0) },
    /** Drops an endpoint's series, so an alert on an open circuit stops once no bucket uses it. */
    breakerRemoved (endpoint: string) { for (const state of BREAKER_STATES) breaker.remove({ endpoint, state }) }
  }
}

export type ConsumerMetrics = ReturnType<typeof createConsumerMetrics>

/**
 * Per subscription: 1 on its state's series (active, or disabled with the reason), and its
 * parked entries; both read from Redis at scrape time, once for the two gauges.
 */
function subscriptionMetrics (registers: Registry[], read: () => Promise<SubscriptionGauge[]>): void {
  let pending: Promise<SubscriptionGauge[]> | undefined
  const once = () => { pending ??= read().catch(() => []).finally(() => { setImmediate(() => { pending = undefined }) }); return pending }
  /* eslint-disable no-new */
  new Gauge({
    name: 'watch_folder_subscription_state',
    help: 'Subscription state: 1 on the series of its state (active, disabled) and reason (gone, failing, operator; empty when active)',
    labelNames: ['bucket', 'subscription', 'state', 'reason'],
    registers,
    async collect () {
      this.reset()
      for (const g of await once()) this.set({ bucket: g.bucket, subscription: g.subscription, state: g.disabled ? 'disabled' : 'active', reason: g.disabled ?? '' }, 1)
    }
  })
  new Gauge({
    name: 'watch_folder_subscription_parked',
    help: 'Events parked for a disabled subscription, delivered when it is enabled',
    labelNames: ['bucket', 'subscription'],
    registers,
    async collect () {
      this.reset()
      for (const g of await once()) this.set({ bucket: g.bucket, subscription: g.subscription }, g.parked)
    }
  })
  /* eslint-enable no-new */
}
