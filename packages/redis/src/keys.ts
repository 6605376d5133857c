/**
 * Every Redis key name, built in this one module. The `linode:*` names and formats of the
 * Python service it replaces are kept so an existing deployment is adopted in place.
 */
export interface KeyOptions {
  queueName: string
  deadLetterName: string
  statePrefix: string
}

const CONFIG = 'linode:objstore:config'
const OBJSTORE = 'linode:objstore'

export function createKeys ({ queueName, deadLetterName, statePrefix }: KeyOptions) {
  return {
    // Bucket configuration (the Python monitor's keys).
    bucketConfig: (bucket: string) => `${CONFIG}:bucket:${bucket}`,
    bucketConfigPattern: `${CONFIG}:bucket:*`,
    bucketConfigPrefix: `${CONFIG}:bucket:`,
    notificationsDisabled: (bucket: string) => `${CONFIG}:${bucket}:notifications_disabled`,
    legacyWebhookUrl: (bucket: string) => `${CONFIG}:${bucket}:webhook_url`,
    lastScan: (bucket: string) => `${OBJSTORE}:last_scan:${bucket}`,
    legacyPendingPattern: `${OBJSTORE}:pending_buckets:*`,
    /** The Python monitor kept one string per object: `{state_prefix}{bucket}:{key}`. */
    legacyObjectStatePattern: (bucket: string) => `${statePrefix}${bucket}:*`,

    // Live configuration: a version counter plus a pub/sub channel.
    configVersion: `${CONFIG}:version`,
    configChannel: `${CONFIG}:changed`,

    // Object state before chunks: one hash per bucket, field = object key, value = fingerprint
    // (a scan moves it into chunks).
    objectState: (bucket: string) => `${statePrefix}${bucket}`,
    /** Keys listed by a deletion pass of an earlier version, kept only while that pass ran. */
    scanSeen: (bucket: string) => `${OBJSTORE}:scan:seen:${bucket}`,

    // Object state in key-range chunks: a sorted set of chunk lower bounds (all scores 0, so
    // lex = byte order), one small hash per chunk (field = object key, value = fingerprint).
    stateIndex: (bucket: string) => `${OBJSTORE}:state-index:${bucket}`,
    stateChunkPrefix: (bucket: string) => `${OBJSTORE}:state-chunk:${bucket}:`,
    /** objects = tracked objects; ttl_refreshed_ms = when every chunk's TTL was last renewed. */
    stateMeta: (bucket: string) => `${OBJSTORE}:state-meta:${bucket}`,
    /** Deletions one scan found, held until its whole listing has been seen in order. */
    scanDeleted: (bucket: string, scanId: string) => `${OBJSTORE}:scan:deleted:${bucket}:${scanId}`,

    // Scheduling across replicas.
    schedule: `${OBJSTORE}:schedule`,
    /** Buckets with a fast lane (fast_interval): member = bucket, score = next fast-lane scan (epoch ms). */
    fastSchedule: `${OBJSTORE}:fast-schedule`,
    lease: (bucket: string) => `${OBJSTORE}:lease:${bucket}`,
    bucketStatus: (bucket: string) => `${OBJSTORE}:status:${bucket}`,
    /** S3 requests granted to a bucket in the last budget window (every replica's), a zset by grant time. */
    requestGrants: (bucket: string) => `${OBJSTORE}:s3-grants:${bucket}`,
    /** A bucket's request rate lowered after the store answered SlowDown: rate, lowered_at (ms). */
    requestRate: (bucket: string) => `${OBJSTORE}:s3-rate:${bucket}`,
    /** Held by the API while it changes one bucket, so two replicas never interleave add/update/delete. */
    apiLock: (bucket: string) => `${OBJSTORE}:api-lock:${bucket}`,
    /** Token requests of one client address in one rate-limit window, shared by every replica. */
    tokenRateLimitPrefix: `${OBJSTORE}:token-rate:`,

    /** A random id written once by the first service to start: its loss means Redis lost its data. */
    instanceMarker: `${OBJSTORE}:instance`,

    // Secrets (embedded store): hash of name -> AES-256-GCM blob.
    secrets: `${OBJSTORE}:secrets`,

    // Delivery.
    queue: queueName,
    processing: (consumerId: string) => `${queueName}:processing:${consumerId}`,
    processingPrefix: `${queueName}:processing:`,
    consumers: `${queueName}:consumers`,
    retry: `${queueName}:retry`,
    deadLetter: deadLetterName,
    /** A subscription's lifecycle (lifecycle.ts): hash of state, reason, changed_at, failing_since. */
    subscriptionState: (bucket: string, id: string) => `${queueName}:subscription:${bucket}:${id}`,
    /** A disabled subscription's parked entries, oldest first. */
    parked: (bucket: string, id: string) => `${queueName}:parked:${bucket}:${id}`,
    endpointStatus: 'linode:notifications:endpoints',

    // Attempt history and the live activity stream.
    /** One string per event: its fields (JSON), a newline, its deliveries per subscription (JSON). */
    historyEvent: (eventId: string) => `${OBJSTORE}:history:event:${eventId}`,
    /** historyEvent's prefix: a bucket's deletion removes its events' strings by their ids. */
    historyEventPrefix: `${OBJSTORE}:history:event:`,
    /** A bucket's recorded events: a sorted set, all scores 0, member = newest-first sort key + event id. */
    historyBucket: (bucket: string) => `${OBJSTORE}:history:bucket:${bucket}`,
    /** The pub/sub channel every replica publishes detections, attempts and state changes on. */
    activityChannel: `${OBJSTORE}:activity`
  } as const
}

export type Keys = ReturnType<typeof createKeys>
