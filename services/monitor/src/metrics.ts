import { Counter, Gauge, Histogram, type Registry } from '@internal/telemetry'

/** The monitor's Prometheus metrics, on the given registry (the queue's length is the consumer's `watch_folder_queue_depth`). */
export function createMonitorMetrics (registry: Registry, stuckScans?: () => number) {
  const registers = [registry]
  const perBucket = {
    scanSeconds: new Histogram({ name: 'watch_folder_scan_duration_seconds', help: 'Duration of bucket scans', labelNames: ['bucket', 'outcome'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600], registers }),
    scans: new Counter({ name: 'watch_folder_scans_total', help: 'Bucket scans by outcome (ok, error, aborted, lost)', labelNames: ['bucket', 'outcome'], registers }),
    objectsListed: new Counter({ name: 'watch_folder_objects_listed_total', help: 'Objects listed by scans', labelNames: ['bucket'], registers }),
    events: new Counter({ name: 'watch_folder_events_total', help: 'Change events enqueued, by type', labelNames: ['bucket', 'type'], registers }),
    fastScans: new Counter({ name: 'watch_folder_fast_scans_total', help: 'Fast-lane scans (the keys after the highest one tracked) by outcome (ok, error, aborted)', labelNames: ['bucket', 'outcome'], registers }),
    scanErrors: new Counter({ name: 'watch_folder_scan_errors_total', help: 'Failed scans, by error kind', labelNames: ['bucket', 'kind'], registers }),
    detectionLag: new Histogram({ name: 'watch_folder_detection_lag_seconds', help: 'From an object\'s last_modified to the scan that announced its creation or update', labelNames: ['bucket'], buckets: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600], registers }),
    requestRate: new Gauge({ name: 'watch_folder_s3_request_rate_limit', help: 'S3 requests per second a bucket may receive now (its budget, lower after SlowDown)', labelNames: ['bucket'], registers }),
    throttled: new Counter({ name: 'watch_folder_s3_throttled_total', help: 'S3 requests the store refused with SlowDown (503) or 429', labelNames: ['bucket'], registers })
  }
  return {
    ...perBucket,
    /** Drops a removed bucket's series, so an alert on its failing scans stops with it. */
    async bucketRemoved (bucket: string) { for (const metric of Object.values(perBucket)) await removeSeries(metric, bucket) },
    leasesHeld: new Gauge({ name: 'watch_folder_leases_held', help: 'Bucket leases this replica holds (scans running)', registers }),
    clientCacheHits: new Counter({ name: 'watch_folder_s3_client_cache_hits_total', help: 'S3 client cache hits', registers }),
    clientCacheMisses: new Counter({ name: 'watch_folder_s3_client_cache_misses_total', help: 'S3 client cache misses', registers }),
    s3RequestTimeouts: new Counter({ name: 'watch_folder_s3_request_timeouts_total', help: 'S3 requests ended by a deadline (connect, first byte, idle body or whole answer)', labelNames: ['operation'], registers }),
    scansStuck: new Gauge({
      name: 'watch_folder_scans_stuck',
      help: 'Scans still running past parallel.scan_timeout (their abort did not end them)',
      registers,
      collect () { if (stuckScans) this.set(stuckScans()) }
    }),
    deletionPasses: new Counter({ name: 'watch_folder_deletion_passes_total', help: 'Scans that removed the state of deleted objects', registers }),
    unorderedListings: new Counter({ name: 'watch_folder_unordered_listings_total', help: 'Listings out of key order (deletions skipped)', registers })
  }
}

// prom-client removes a series by its full label set only: the bucket's series are found first.
async function removeSeries (metric: Counter | Histogram | Gauge, bucket: string): Promise<void> {
  const sets = new Map<string, Record<string, string | number>>()
  for (const { labels } of (await metric.get()).values) {
    if (labels.bucket !== bucket) continue
    const own = Object.fromEntries(Object.entries(labels).filter(([name, value]) => name !== 'le' && value !== undefined)) as Record<string, string | number>
    sets.set(JSON.stringify(own), own)
  }
  for (const labels of sets.values()) metric.remove(labels)
}

export type MonitorMetrics = ReturnType<typeof createMonitorMetrics>
