import { z } from 'zod'

// The Python services' ConfigMap keys, with their defaults,
// plus the keys this implementation adds. Unknown keys are accepted where the Python services
// shipped keys it never read (connection_pool_size, logging.*), so an old file loads unchanged.

const seconds = z.coerce.number().positive()
const count = z.coerce.number().int().positive()

export const StaggerMethod = z.enum(['hash', 'equal', 'random'])

export const DefaultsSection = z.object({
  polling_interval: seconds.default(60),
  endpoint: z.string().min(1).default('us-east-1.linodeobjects.com'),
  /** Page size of ListObjectsV2 (S3 caps it at 1000); the Python monitor's per-scan cap is gone. */
  max_objects_per_batch: count.max(1000).default(1000),
  /** SigV4 signing region; Linode accepts any. */
  signing_region: z.string().min(1).default('us-east-1'),
  first_scan: z.enum(['emit', 'baseline']).default('emit')
}).loose()

export const ParallelSection = z.object({
  max_workers: count.default(60),
  rate_limit_per_region: count.default(15),
  stagger_method: StaggerMethod.default('hash'),
  /** How long a replica owns a bucket scan before another may take it over. */
  lease_ttl: seconds.default(30),
  /** A bucket's share of its region's request slots (at most rate_limit_per_region). */
  s3_requests_per_bucket: count.default(5),
  /** Seconds an S3 connect may take. */
  s3_connect_timeout: seconds.default(5),
  /** Seconds an S3 attempt may wait for its first response byte, or sit silent while its body arrives. */
  s3_request_timeout: seconds.default(30),
  /** Seconds one S3 request may take in all, the SDK's retries included. */
  s3_request_deadline: seconds.default(60),
  /** Seconds a whole scan may take before it is failed, its lease released and retried with backoff. */
  scan_timeout: seconds.default(3600),
  /**
   * S3 requests per second one bucket may receive from all replicas together, when the bucket
   * sets no max_requests_per_second (Linode caps a bucket at 750 on E0/E1 endpoints).
   */
  max_requests_per_second_per_bucket: count.max(100_000).default(500)
}).loose()

export const RedisSection = z.object({
  sentinel_host: z.string().min(1).nullable().default(null),
  sentinel_port: z.coerce.number().int().min(1).max(65535).default(26379),
  master_name: z.string().min(1).default('mymaster'),
  password: z.string().nullable().default(null),
  db: z.coerce.number().int().min(0).default(0),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(1).max(65535).default(6379),
  queue_name: z.string().min(1).default('linode:notifications:queue'),
  dead_letter_queue: z.string().min(1).default('linode:notifications:dead'),
  state_prefix: z.string().min(1).default('linode:objstore:state:'),
  ttl: z.coerce.number().int().positive().default(2592000),
  /** Wait for this many replicas to acknowledge a scan's writes (0 = do not wait). */
  wait_replicas: z.coerce.number().int().min(0).default(0),
  wait_timeout_ms: z.coerce.number().int().positive().default(500),
  /**
   * How often each replica compares the bucket config version, ms: the most its view of the
   * buckets lags behind while pub/sub is down (one GET per interval per replica).
   */
  config_check_interval_ms: z.coerce.number().int().min(50).max(60_000).default(1000)
}).loose()

export const OAuthSection = z.object({
  token_url: z.string().url().optional(),
  client_id: z.string().min(1).optional(),
  client_secret: z.string().min(1).optional(),
  scope: z.string().optional()
}).loose()

/** The retry waits, seconds, when neither webhook.retry_schedule nor max_retries is configured (about 27.6 h in all). */
export const DEFAULT_RETRY_SCHEDULE: readonly number[] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000]

export const WebhookSection = z.object({
  url: z.string().url().nullable().default(null),
  timeout: seconds.default(10),
  /**
   * Waits between attempts, seconds, each jittered by ±20 %: the attempts are one more than
   * its length. Unset, with max_retries and backoff_factor unset too, the consumer uses
   * DEFAULT_RETRY_SCHEDULE; unset with either of them set, their exponential backoff.
   */
  retry_schedule: z.array(seconds).max(50).optional(),
  /** Retries after the first attempt with exponential backoff (the consumer defaults it to 3 when backoff_factor alone is set). */
  max_retries: z.coerce.number().int().min(0).optional(),
  /** Growth of the exponential backoff's ceiling per attempt (the consumer defaults it to 2 when max_retries alone is set). */
  backoff_factor: z.coerce.number().min(1).optional(),
  /** A subscription failing without a single success for this long, seconds, is disabled (reason `failing`). */
  disable_after: seconds.default(5 * 86_400),
  /** Events kept per disabled subscription; beyond it the oldest go to the dead-letter list. */
  max_parked: count.default(100_000),
  /** Upper bound of one backoff wait, seconds. */
  max_backoff: seconds.default(3600),
  /** Upper bound honoured for a receiver's Retry-After, seconds. */
  max_retry_after: seconds.default(600),
  circuit_threshold: count.default(5),
  circuit_reset_time: seconds.default(60),
  /** Deliveries in flight to one endpoint at once. */
  max_per_endpoint: count.default(10),
  allowed_networks: z.array(z.string()).default([]),
  user_agent: z.string().default('watch-folder/1.0')
}).loose()

export const ConsumerSection = z.object({
  polling_interval: seconds.default(1),
  batch_size: count.default(10),
  webhook_threads: count.default(20),
  max_empty_polls: count.default(10),
  visibility_timeout: seconds.default(30),
  /** Seconds an event's attempt history is kept after its last step (7 days). */
  history_ttl: seconds.default(7 * 24 * 3600)
}).loose()

export const ApiClient = z.object({
  client_id: z.string().min(1),
  client_secret: z.string().min(16),
  scopes: z.array(z.enum(['read', 'write'])).default(['read'])
}).strict()

export const ApiSection = z.object({
  token_ttl: seconds.default(3600),
  clients: z.array(ApiClient).default([]),
  token_rate_limit: count.default(10),
  body_limit_bytes: count.default(64 * 1024),
  /** Longest wait for one Redis command of an API request; past it the request answers 503. */
  redis_timeout_ms: count.default(2000),
  /**
   * Which proxies' X-Forwarded-For to believe for the client address (the token rate limit is
   * per address): false (default), true, or comma-separated addresses/CIDRs,
   * as fastify's trustProxy. Behind a Linode NodeBalancer in HTTP mode, set it to its subnet.
   */
  trust_proxy: z.union([z.boolean(), z.string().min(1)]).default(false),
  /** Milliseconds between two heartbeats (comment lines) of GET /api/activity. */
  activity_heartbeat_ms: count.default(15_000),
  /** Bytes an activity client may leave unread before it is dropped. */
  activity_max_buffer_bytes: count.default(1024 * 1024)
}).loose()

export const LoggingSection = z.object({
  level: z.string().optional()
}).loose()
