import type { S3Client } from '@aws-sdk/client-s3'
import type { Redis, Keys } from '@internal/redis'
import type { Bucket } from '@internal/buckets'
import type { Logger } from '@internal/telemetry'
import type { MonitorScripts } from './scripts.ts'
import type { Slots } from './limiter.ts'
import type { KeyFilter } from './patterns.ts'
import type { HeadFailures } from './head-failures.ts'
import type { BudgetScope } from './request-budget.ts'

/** What every scan of this process shares. */
export interface ScanDeps {
  redis: Redis
  keys: Keys
  scripts: MonitorScripts
  log: Logger
  /** ListObjectsV2 page size (defaults.max_objects_per_batch). */
  pageSize: number
  /** Object state TTL, seconds (redis.ttl). */
  stateTtlSec: number
  /** WAIT for this many replicas after each commit (0 = do not wait). */
  waitReplicas: number
  waitTimeoutMs: number
  /** Objects whose HeadObject failed on earlier scans; without it such an object is announced at once. */
  headFailures?: HeadFailures
  /** Each announced creation or update: seconds from the object's last_modified to now (metrics). */
  onDetectionLag?: (bucket: string, seconds: number) => void
  /** Log a progress line this often during a long scan. */
  progressEveryMs?: number
  /** Write the scan's progress into its status this often (PROGRESS_WRITE_MS when not given). */
  progressWriteMs?: number
  /** Told of the events each commit enqueued (their JSON), once Redis holds them; must not throw or wait. */
  onEvents?: (events: string[]) => void
  now: () => number
}

/** One scan of one bucket. */
export interface ScanTarget {
  bucket: Bucket
  client: S3Client
  /** The region's S3 operation slots. */
  region: Slots
  /** `region` of the events: the endpoint host. */
  regionName: string
  filter: KeyFilter
  firstScan: 'emit' | 'baseline'
  /** The epoch of the events' ids (set by a resync that forgot the state); none = the ids as always. */
  idEpoch?: string
  signal: AbortSignal
  /** Whole-answer deadline of one S3 request, retries included (parallel.s3_request_deadline). */
  requestDeadlineMs?: number
  /** The bucket's request budget, shared by every replica; none: unlimited. */
  budget?: BudgetScope
  /** Called for every S3 request a deadline ended (metrics). */
  onRequestTimeout?: (operation: 'list' | 'head') => void
}

export interface EventCounts { created: number, updated: number, detected: number, deleted: number }

/** Counters a scan updates as it goes, so a failed scan still reports what it did. */
export interface ScanProgress {
  startedAt: number
  pages: number
  listed: number
  /** Listed objects that had a state already. */
  known: number
  changed: number
  events: EventCounts
  /** Changes a compare-and-set found already applied by someone else. */
  skipped: number
  ordered: boolean
  /** Key ranges the listing was split into, listed concurrently. */
  ranges: number
  /** While the listing runs: ranges listed to their end, and ranges known so far. */
  rangesDone: number
  rangesTotal: number
  deletionPass: boolean
  /** Objects the listing left out although HeadObject found them (a faulty listing). */
  missedByListing: number
  firstScan: boolean
  /** The notification switch as Redis held it when the scan started. */
  notificationsOn: boolean
}

export function newProgress (startedAt: number): ScanProgress {
  return {
    startedAt,
    pages: 0,
    listed: 0,
    known: 0,
    changed: 0,
    skipped: 0,
    ordered: true,
    ranges: 0,
    rangesDone: 0,
    rangesTotal: 0,
    deletionPass: false,
    missedByListing: 0,
    firstScan: false,
    notificationsOn: true,
    events: { created: 0, updated: 0, detected: 0, deleted: 0 }
  }
}
