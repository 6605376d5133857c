// What both scan benchmarks share: the fake S3 in a child process (its CPU is not the
// monitor's), a plain sequential SDK listing as the baseline, and the scanner as the
// monitor runs it, on a private redis-server.
import { fork, type ChildProcess } from 'node:child_process'
import { once, setMaxListeners } from 'node:events'
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { createKeys, type Keys, type Redis } from '@internal/redis'
import { createLogger } from '@internal/telemetry'
import type { Bucket } from '@internal/buckets'
import { scanBucket } from '../services/monitor/src/scan.ts'
import { RequestBudgets } from '../services/monitor/src/request-budget.ts'
import { monitorScripts } from '../services/monitor/src/scripts.ts'
import { Limiter, RegionSlots } from '../services/monitor/src/limiter.ts'
import { createKeyFilter } from '../services/monitor/src/patterns.ts'
import { createS3Client } from '../services/monitor/src/s3-clients.ts'
import { newProgress, type ScanDeps, type ScanProgress } from '../services/monitor/src/scan-context.ts'

export interface S3Child { proc: ChildProcess, endpoint: string, send: (m: Record<string, unknown>) => Promise<Record<string, any>> }

export async function startS3Child (): Promise<S3Child> {
  const proc = fork(new URL('./fake-s3-child.ts', import.meta.url), { stdio: 'inherit' })
  const [ready] = await once(proc, 'message') as [{ endpoint: string }]
  const send = async (m: Record<string, unknown>) => { proc.send(m); return (await once(proc, 'message'))[0] as Record<string, any> }
  return { proc, endpoint: ready.endpoint, send }
}

/** The baseline: a plain SDK client as anyone would write it, nothing tuned. */
export function plainClient (endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  })
}

/** A sequential ListObjectsV2 of the whole bucket; returns its milliseconds. */
export async function bareListing (client: S3Client, bucket: string, expected: number): Promise<number> {
  const started = performance.now()
  let token: string | undefined
  let listed = 0
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000, ContinuationToken: token }))
    listed += page.Contents?.length ?? 0
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  if (listed !== expected) throw new Error(`bare listing saw ${listed} objects`)
  return performance.now() - started
}

export async function usedMemory (redis: Redis): Promise<number> {
  return Number((await redis.info('memory')).match(/used_memory:(\d+)/)![1])
}

/** Bytes Redis reports for a bucket's chunked state (every chunk and the index). */
export async function stateBytes (redis: Redis, keys: Keys, bucket: string): Promise<number> {
  const bounds = await redis.zrange(keys.stateIndex(bucket), 0, -1)
  const pipeline = redis.pipeline()
  pipeline.memory('USAGE', keys.stateIndex(bucket), 'SAMPLES', '0')
  for (const lower of bounds) pipeline.memory('USAGE', keys.stateChunkPrefix(bucket) + lower, 'SAMPLES', '0')
  const replies = await pipeline.exec() as Array<[Error | null, number | null]>
  return replies.reduce((sum, [, n]) => sum + Number(n ?? 0), 0)
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
export const round = (x: number, digits = 0) => Number(x.toFixed(digits))

export const benchKeys: Keys = createKeys({ queueName: 'bench:queue', deadLetterName: 'bench:dead', statePrefix: 'bench:state:' })

/** The scanner on a private Redis, with the region's default 15 S3 slots. */
export function createBenchScanner (redis: Redis, endpoint: string) {
  const keys = benchKeys
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
  const client = createS3Client(endpoint, { accessKey: 'bench', secretKey: 'bench' }, 'us-east-1')
  const region = new Limiter(15)
  // The default request budget of parallel.max_requests_per_second_per_bucket, as deployed.
  const budgets = new RequestBudgets({ redis, keys, limitOf: () => 500 })
  // With `perBucket`, the bucket gets only that share of the region's slots, as deployed.
  const scan = async (name: string, perBucket?: number): Promise<{ ms: number, progress: ScanProgress }> => {
    const bucket: Bucket = { name, endpoint, status: 'active', notifications_enabled: true }
    const progress = newProgress(Date.now())
    await redis.set(keys.bucketConfig(name), JSON.stringify(bucket))
    const signal = new AbortController().signal
    setMaxListeners(0, signal) // one listener per S3 request in flight
    const started = performance.now()
    const slots = perBucket === undefined ? region : new RegionSlots(region.limit, { perBucket }).forBucket(name)
    await scanBucket(deps, { bucket, client, region: slots, regionName: new URL(endpoint).host, filter: createKeyFilter(undefined, undefined), firstScan: 'emit', signal, budget: budgets.scope(name, signal) }, progress)
    await redis.set(keys.lastScan(name), String(Date.now() / 1000))
    return { ms: performance.now() - started, progress }
  }
  return { keys, client, scan }
}
