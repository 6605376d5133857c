// Scan benchmark (issue 2): a bucket of BENCH_OBJECTS (default 100,000) objects on the
// in-memory S3 (in a child process) and a private redis-server. Prints first-scan and
// no-change-rescan throughput, rescan time / bare SDK listing time, Redis bytes per tracked
// object and the peak RSS, and writes the figures to results/.
import { fork, type ChildProcess } from 'node:child_process'
import { once, setMaxListeners } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { createKeys, type Redis } from '@internal/redis'
import { createLogger } from '@internal/telemetry'
import type { Bucket } from '@internal/buckets'
import { startRedis } from '../test/support/redis-server.ts'
import { scanBucket } from '../services/monitor/src/scan.ts'
import { monitorScripts } from '../services/monitor/src/scripts.ts'
import { Limiter } from '../services/monitor/src/limiter.ts'
import { createKeyFilter } from '../services/monitor/src/patterns.ts'
import { createS3Client } from '../services/monitor/src/s3-clients.ts'
import { newProgress, type ScanDeps, type ScanProgress } from '../services/monitor/src/scan-context.ts'
import { benchKey } from './bench-keys.ts'

const OBJECTS = Number(process.env.BENCH_OBJECTS ?? 100_000)
const CREATED = Math.min(10_000, Math.floor(OBJECTS / 10))
const REPEATS = 5
const DAY = 86_400_000

interface S3Child { proc: ChildProcess, endpoint: string, send: (m: Record<string, unknown>) => Promise<void> }

async function startS3Child (): Promise<S3Child> {
  const proc = fork(new URL('./fake-s3-child.ts', import.meta.url), { stdio: 'inherit' })
  const [ready] = await once(proc, 'message') as [{ endpoint: string }]
  const send = async (m: Record<string, unknown>) => { proc.send(m); await once(proc, 'message') }
  return { proc, endpoint: ready.endpoint, send }
}

async function bareListing (client: S3Client, bucket: string): Promise<number> {
  const started = performance.now()
  let token: string | undefined
  let listed = 0
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000, ContinuationToken: token }))
    listed += page.Contents?.length ?? 0
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  if (listed !== OBJECTS) throw new Error(`bare listing saw ${listed} objects`)
  return performance.now() - started
}

async function usedMemory (redis: Redis): Promise<number> {
  return Number((await redis.info('memory')).match(/used_memory:(\d+)/)![1])
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const round = (x: number, digits = 0) => Number(x.toFixed(digits))

export async function run (): Promise<void> {
  const [redisServer, s3] = await Promise.all([startRedis(), startS3Child()])
  const redis = redisServer.client()
  const client = createS3Client(s3.endpoint, { accessKey: 'bench', secretKey: 'bench' }, 'us-east-1')
  // The baseline: a plain SDK client as anyone would write it, nothing tuned.
  const plain = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  })
  try {
    const keys = createKeys({ queueName: 'bench:queue', deadLetterName: 'bench:dead', statePrefix: 'bench:state:' })
    const deps: ScanDeps = {
      redis,
      keys,
      scripts: monitorScripts(redis),
      log: createLogger({ service: 'bench', level: 'warn' }),
      pageSize: 1000,
      stateTtlSec: 2_592_000,
      waitReplicas: 0,
      waitTimeoutMs: 0,
      now: Date.now
    }
    const region = new Limiter(15)
    const scan = async (name: string): Promise<{ ms: number, progress: ScanProgress }> => {
      const bucket: Bucket = { name, endpoint: s3.endpoint, status: 'active', notifications_enabled: true }
      const progress = newProgress(Date.now())
      await redis.set(keys.bucketConfig(name), JSON.stringify(bucket))
      const signal = new AbortController().signal
      setMaxListeners(0, signal) // one listener per S3 request in flight
      const started = performance.now()
      await scanBucket(deps, { bucket, client, region, regionName: new URL(s3.endpoint).host, filter: createKeyFilter(undefined, undefined), firstScan: 'emit', signal }, progress)
      await redis.set(keys.lastScan(name), String(Date.now() / 1000))
      return { ms: performance.now() - started, progress }
    }

    process.stdout.write(`scan benchmark: ${OBJECTS} objects (older than 24 h: detected, no HeadObject), pages of 1000\n`)
    await s3.send({ type: 'seed', bucket: 'bench', count: OBJECTS, lastModified: Date.now() - 3 * DAY })
    await bareListing(plain, 'bench') // warm-up: connections, JIT
    await bareListing(client, 'bench')
    const memBefore = await usedMemory(redis)

    const first = await scan('bench')
    if (first.progress.events.detected !== OBJECTS) throw new Error(`first scan: ${JSON.stringify(first.progress.events)}`)
    const queueBytes = Number(await redis.memory('USAGE', keys.queue, 'SAMPLES', '0') ?? 0)
    await redis.del(keys.queue)

    // Alternate bare listing and rescan so both see the same machine load.
    const bare: number[] = []
    const tunedBare: number[] = []
    const rescans: number[] = []
    for (let i = 0; i < REPEATS; i++) {
      bare.push(await bareListing(plain, 'bench'))
      tunedBare.push(await bareListing(client, 'bench'))
      const r = await scan('bench')
      if (r.progress.changed !== 0) throw new Error('a no-change rescan found changes')
      rescans.push(r.ms)
    }

    // Steady state: the hash's incremental rehash (65,536 -> 131,072 slots) has finished
    // during the rescans' lookups, and Redis's cron has trimmed the connection's query buffer.
    await new Promise(resolve => setTimeout(resolve, 2500))
    const stateBytes = await usedMemory(redis) - memBefore
    const stateKeyBytes = Number(await redis.memory('USAGE', keys.objectState('bench'), 'SAMPLES', '0') ?? 0)

    // 1 % changed, 0.1 % deleted: the change path (HeadObject for updates) and a deletion pass.
    const touched = Array.from({ length: OBJECTS / 100 }, (_, i) => benchKey(i * 100 + 1))
    const removed = Array.from({ length: OBJECTS / 1000 }, (_, i) => benchKey(i * 1000 + 7))
    await s3.send({ type: 'touch', bucket: 'bench', keys: touched })
    await s3.send({ type: 'remove', bucket: 'bench', keys: removed })
    const changed = await scan('bench')
    await redis.del(keys.queue)

    await s3.send({ type: 'seed', bucket: 'bench-new', count: CREATED, lastModified: Date.now() - 60_000 })
    const created = await scan('bench-new')
    await redis.del(keys.queue)

    const result = {
      date: new Date().toISOString(),
      objects: OBJECTS,
      first_scan: { seconds: round(first.ms / 1000, 2), objects_per_s: round(OBJECTS / first.ms * 1000) },
      rescan_no_change: { seconds: round(median(rescans) / 1000, 3), objects_per_s: round(OBJECTS / median(rescans) * 1000), runs_ms: rescans.map(x => round(x)) },
      bare_sdk_listing: { seconds: round(median(bare) / 1000, 3), objects_per_s: round(OBJECTS / median(bare) * 1000), runs_ms: bare.map(x => round(x)) },
      rescan_over_bare_listing: round(median(rescans) / median(bare), 3),
      bare_listing_monitor_client: { seconds: round(median(tunedBare) / 1000, 3), runs_ms: tunedBare.map(x => round(x)) },
      rescan_over_monitor_client_listing: round(median(rescans) / median(tunedBare), 3),
      rescan_with_changes: { seconds: round(changed.ms / 1000, 2), updated: changed.progress.events.updated, deleted: changed.progress.events.deleted, deletion_pass: changed.progress.deletionPass },
      first_scan_created_with_head: { objects: CREATED, seconds: round(created.ms / 1000, 2), objects_per_s: round(CREATED / created.ms * 1000) },
      redis_bytes_per_tracked_object: round(stateBytes / OBJECTS, 1),
      redis_state_hash_bytes_per_object: round(stateKeyBytes / OBJECTS, 1),
      queue_bytes_per_event: round(queueBytes / OBJECTS, 1),
      peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
      heap_after_gc_mb: round(heapAfterGc() / 1024 / 1024, 1)
    }
    report(result)
  } finally {
    client.destroy()
    plain.destroy()
    s3.proc.disconnect()
    await redisServer.stop()
  }
}

// The scanner keeps no per-object memory: after the scans a full GC brings the heap back down.
function heapAfterGc (): number {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  return process.memoryUsage().heapUsed
}

function report (r: Record<string, any>): void {
  const lines: Array<[string, string]> = [
    ['first scan (detected)', `${r.first_scan.objects_per_s} objects/s (${r.first_scan.seconds} s)`],
    ['no-change rescan', `${r.rescan_no_change.objects_per_s} objects/s (${r.rescan_no_change.seconds} s, median of ${REPEATS})`],
    ['bare SDK ListObjectsV2', `${r.bare_sdk_listing.objects_per_s} objects/s (${r.bare_sdk_listing.seconds} s, median of ${REPEATS})`],
    ['rescan / bare listing', `${r.rescan_over_bare_listing} (goal <= 1.15)`],
    ['rescan / listing with the monitor client', `${r.rescan_over_monitor_client_listing} (the diffing's own cost)`],
    ['rescan, 1 % updated + 0.1 % deleted', `${r.rescan_with_changes.seconds} s (${r.rescan_with_changes.updated} updated, ${r.rescan_with_changes.deleted} deleted)`],
    ['first scan (created, HeadObject each)', `${r.first_scan_created_with_head.objects_per_s} objects/s (${r.first_scan_created_with_head.objects} objects)`],
    ['Redis bytes per tracked object', `${r.redis_bytes_per_tracked_object} (INFO used_memory delta; goal < 120)`],
    ['peak RSS', `${r.peak_rss_mb} MB (heap after GC: ${r.heap_after_gc_mb} MB, nothing per object kept)`]
  ]
  for (const [k, v] of lines) process.stdout.write(`  ${k.padEnd(40)} ${v}\n`)
  mkdirSync('results', { recursive: true })
  const file = `results/bench-scan-${r.date.replace(/[:.]/g, '-')}.json`
  writeFileSync(file, JSON.stringify(r, null, 2) + '\n')
  process.stdout.write(`  written to ${file}\n`)
}
