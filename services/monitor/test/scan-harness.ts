import { before, after } from 'node:test'
import { randomUUID } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import type { Redis } from 'ioredis'
import { createKeys, type Keys } from '@internal/redis'
import { createLogger } from '@internal/telemetry'
import type { Bucket } from '@internal/buckets'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { startFakeS3, type FakeS3 } from '../../../test/support/fake-s3.ts'
import { scanBucket } from '../src/scan.ts'
import { monitorScripts } from '../src/scripts.ts'
import { Limiter } from '../src/limiter.ts'
import { createKeyFilter } from '../src/patterns.ts'
import { createS3Client } from '../src/s3-clients.ts'
import { newProgress, type ScanDeps, type ScanProgress } from '../src/scan-context.ts'
import type { BudgetScope } from '../src/request-budget.ts'

export interface ScanOptions { endpoint: string, pageSize?: number, region?: Limiter, signal?: AbortSignal, budget?: BudgetScope, maxAttempts?: number }

/** What a scan shares with the process, as tests set it up: silent log, pages of 1000. */
export function testScanDeps (redis: Redis, keys: Keys, now: () => number = Date.now): ScanDeps {
  return {
    redis,
    keys,
    scripts: monitorScripts(redis),
    log: createLogger({ service: 'test', level: 'silent' }),
    pageSize: 1000,
    stateTtlSec: 3600,
    waitReplicas: 0,
    waitTimeoutMs: 100,
    now
  }
}

/** Scans as the scheduler does, against a real Redis and an S3 server over HTTP; keys unique per harness. */
export function createScanHarness (redis: Redis) {
  const prefix = `t${randomUUID().slice(0, 8)}`
  const keys: Keys = createKeys({ queueName: `${prefix}:queue`, deadLetterName: `${prefix}:dead`, statePrefix: `${prefix}:state:` })
  const deps = testScanDeps(redis, keys)

  async function scan (opts: Partial<Bucket> & { name: string }, { endpoint, pageSize = 1000, region = new Limiter(4), signal, budget, maxAttempts = 1 }: ScanOptions): Promise<ScanProgress> {
    const bucket: Bucket = { endpoint, status: 'active', notifications_enabled: true, ...opts }
    const client = createS3Client(endpoint, { accessKey: 'S3RVER', secretKey: 'S3RVER' }, 'us-east-1', { maxAttempts })
    const progress = newProgress(deps.now())
    await redis.set(keys.bucketConfig(bucket.name), JSON.stringify(bucket), 'NX')
    const scanSignal = signal ?? new AbortController().signal
    setMaxListeners(0, scanSignal)
    try {
      await scanBucket({ ...deps, pageSize }, {
        bucket,
        client,
        region,
        regionName: new URL(endpoint).host,
        filter: createKeyFilter(bucket.include, bucket.exclude),
        firstScan: bucket.first_scan ?? 'emit',
        signal: scanSignal,
        ...(budget && { budget })
      }, progress)
      await redis.set(keys.lastScan(bucket.name), String(Math.floor(progress.startedAt / 1000)))
    } finally {
      client.destroy()
    }
    return progress
  }

  /** The queued events as `type key`, removed from the queue. */
  async function drain (): Promise<string[]> {
    const raw = await redis.lrange(keys.queue, 0, -1)
    await redis.del(keys.queue)
    return raw.map(r => JSON.parse(r) as { event_type: string, key: string }).map(e => `${e.event_type} ${e.key}`)
  }

  return { keys, deps, scan, drain }
}

/** A redis-server and a fake S3 for the test file, started before its tests and stopped after. */
export function useScanServers (): { redis: Redis, fake: FakeS3 } {
  const servers = {} as { redis: Redis, fake: FakeS3, server: RedisServer }
  before(async () => {
    [servers.server, servers.fake] = await Promise.all([startRedis(), startFakeS3()])
    servers.redis = servers.server.client()
  })
  after(async () => { await Promise.all([servers.server.stop(), servers.fake.close()]) })
  return servers
}
