// Scan benchmark at a real store's pace: the in-repo fake S3 (in a child process) answers
// every request after 50 ms, as object stores answer a ListObjectsV2 page in tens to hundreds
// of milliseconds, and counts the requests. A bucket of BENCH_LATENCY_OBJECTS (default
// 1,000,000) objects; every ratio compares two figures measured in the same run. The scans
// run in a process of their own started as the monitor is shipped (the flags and env of
// services/monitor/src/process-tuning.ts), whose peak RSS is reported.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ScanProgress } from '../services/monitor/src/scan-context.ts'
import { startRedis } from '../test/support/redis-server.ts'
import { MONITOR_ENV, MONITOR_NODE_FLAGS } from '../services/monitor/src/process-tuning.ts'
import { benchKey } from './bench-keys.ts'
import { bareListing, benchKeys as keys, plainClient, round, startS3Child, stateBytes, usedMemory } from './scan-support.ts'

const OBJECTS = Number(process.env.BENCH_LATENCY_OBJECTS ?? 1_000_000)
const LATENCY_MS = 50
const DAY = 86_400_000
const BUCKET = 'latency'
const RESCANS = 3
/** parallel.s3_requests_per_bucket's default. */
const BUCKET_SHARE = 5

interface ScanResult { ms: number, progress: ScanProgress, cpuMs: number, peakRssMb: number }

async function startScanner (redisPort: number, endpoint: string) {
  const proc = fork(new URL('./scan-worker.ts', import.meta.url), [String(redisPort), endpoint], { execArgv: [...MONITOR_NODE_FLAGS], env: { ...process.env, ...MONITOR_ENV }, stdio: 'inherit' })
  const [ready] = await once(proc, 'message') as [{ idleRssMb: number }]
  const scan = async (bucket: string, perBucket?: number): Promise<ScanResult> => {
    proc.send({ type: 'scan', bucket, perBucket })
    const [reply] = await once(proc, 'message') as [ScanResult & { error?: string }]
    if (reply.error) throw new Error(`scan failed in the scanner process: ${reply.error}`)
    return reply
  }
  return { proc, scan, idleRssMb: ready.idleRssMb }
}

export async function run (): Promise<void> {
  const [redisServer, s3] = await Promise.all([startRedis(), startS3Child()])
  const redis = redisServer.client()
  const { proc: scanner, scan, idleRssMb } = await startScanner(redisServer.port, s3.endpoint)
  const plain = plainClient(s3.endpoint)
  const lists = async () => Number((await s3.send({ type: 'counts' })).counts.list)
  const cpuSeconds = async () => {
    const info = await redis.info('cpu')
    const redisCpu = ['used_cpu_user', 'used_cpu_sys'].reduce((sum, f) => sum + Number(info.match(new RegExp(`${f}:([\\d.]+)`))![1]), 0)
    return { redis: redisCpu, s3: Number((await s3.send({ type: 'counts' })).cpuMs) / 1000 }
  }
  try {
    process.stdout.write(`scan benchmark, ${LATENCY_MS} ms per S3 request: ${OBJECTS} objects (older than 24 h), pages of 1000, 15 requests in flight per region\n`)
    let started = performance.now()
    await s3.send({ type: 'seed', bucket: BUCKET, count: OBJECTS, lastModified: Date.now() - 3 * DAY })
    const seedSeconds = (performance.now() - started) / 1000
    const memBefore = await usedMemory(redis)
    // The first scan builds the state; it is not one of the ratios, so it runs without latency.
    const first = await scan(BUCKET)
    if (first.progress.events.detected !== OBJECTS) throw new Error(`first scan: ${JSON.stringify(first.progress.events)}`)
    await redis.del(keys.queue)
    await sleep(2500) // Redis's cron trims the connections' query buffers
    const usedBytes = await usedMemory(redis) - memBefore
    const chunkBytes = await stateBytes(redis, keys, BUCKET)

    await s3.send({ type: 'latency', ms: LATENCY_MS })
    started = performance.now()
    await bareListing(plain, BUCKET, OBJECTS)
    const bareMs = performance.now() - started

    // The machine is shared: the no-change rescan is the median of three. CPU seconds of the
    // scanner, Redis and the fake S3 over the three show which of them sets the pace.
    const listsBefore = await lists()
    const cpuBefore = await cpuSeconds()
    const noChanges: ScanResult[] = []
    for (let i = 0; i < RESCANS; i++) noChanges.push(await scan(BUCKET))
    const rescanLists = (await lists() - listsBefore) / RESCANS
    const cpuAfter = await cpuSeconds()
    const rescanCpu = { scanner: noChanges.reduce((sum, r) => sum + r.cpuMs / 1000, 0) / RESCANS, redis: (cpuAfter.redis - cpuBefore.redis) / RESCANS, s3: (cpuAfter.s3 - cpuBefore.s3) / RESCANS }
    if (noChanges.some(r => r.progress.changed !== 0 || r.progress.events.deleted !== 0)) throw new Error('a no-change rescan found changes')
    const noChange = noChanges.sort((a, b) => a.ms - b.ms)[Math.floor(RESCANS / 2)]!
    // As deployed, one bucket holds at most parallel.s3_requests_per_bucket of its region's slots.
    const shared = await scan(BUCKET, BUCKET_SHARE)

    // 0.1 % deleted and 0.1 % new, spread over the key space (older than 24 h: `detected`, no HeadObject).
    const removed = Array.from({ length: OBJECTS / 1000 }, (_, i) => benchKey(i * 1000 + 7))
    const added = Array.from({ length: OBJECTS / 1000 }, (_, i) => `${benchKey(i * 1000 + 3)}.new`)
    await s3.send({ type: 'remove', bucket: BUCKET, keys: removed })
    await s3.send({ type: 'add', bucket: BUCKET, keys: added, lastModified: Date.now() - 3 * DAY })
    const changed = await scan(BUCKET)
    const events = changed.progress.events
    if (events.deleted !== removed.length || events.detected !== added.length) throw new Error(`changed rescan: ${JSON.stringify(events)}`)

    const pages = Math.ceil(OBJECTS / 1000)
    report({
      date: new Date().toISOString(),
      objects: OBJECTS,
      latency_ms: LATENCY_MS,
      seed_seconds: round(seedSeconds, 1),
      first_scan_seconds_no_latency: round(first.ms / 1000, 1),
      bare_sequential_listing_seconds: round(bareMs / 1000, 2),
      rescan_no_change: { seconds: round(noChange.ms / 1000, 2), runs_s: noChanges.map(r => round(r.ms / 1000, 2)), ranges: noChange.progress.ranges, pages: noChange.progress.pages },
      rescan_no_change_bucket_share: { slots: BUCKET_SHARE, seconds: round(shared.ms / 1000, 2), over_sequential_listing: round(shared.ms / bareMs, 3) },
      rescan_over_sequential_listing: round(noChange.ms / bareMs, 3),
      rescan_cpu_seconds: { scanner: round(rescanCpu.scanner, 1), redis: round(rescanCpu.redis, 1), fake_s3: round(rescanCpu.s3, 1) },
      rescan_with_changes: { seconds: round(changed.ms / 1000, 2), deleted: events.deleted, detected: events.detected },
      changed_over_no_change: round(changed.ms / noChange.ms, 3),
      list_calls_per_rescan: rescanLists,
      list_calls_over_pages: round(rescanLists / pages, 3),
      redis_bytes_per_tracked_object: round(usedBytes / OBJECTS, 1),
      redis_chunk_bytes_per_object: round(chunkBytes / OBJECTS, 1),
      peak_rss_mb: round(changed.peakRssMb, 1),
      peak_rss_mb_after_first_scan: round(first.peakRssMb, 1),
      idle_rss_mb: round(idleRssMb, 1),
      scanner_flags: MONITOR_NODE_FLAGS.join(' '),
      scanner_env: MONITOR_ENV
    })
  } finally {
    scanner.disconnect()
    plain.destroy()
    s3.proc.disconnect()
    await redisServer.stop()
  }
}

function report (r: Record<string, any>): void {
  const lines: Array<[string, string]> = [
    ['plain sequential SDK listing', `${r.bare_sequential_listing_seconds} s`],
    ['no-change rescan', `${r.rescan_no_change.seconds} s, median of ${r.rescan_no_change.runs_s.join(', ')} (${r.rescan_no_change.ranges} ranges, ${r.rescan_no_change.pages} pages)`],
    ['no-change rescan / sequential listing', `${r.rescan_over_sequential_listing} (goal <= 0.15)`],
    ['CPU per no-change rescan', `scanner ${r.rescan_cpu_seconds.scanner} s, Redis ${r.rescan_cpu_seconds.redis} s, fake S3 ${r.rescan_cpu_seconds.fake_s3} s (2 cores, shared)`],
    [`the same with ${r.rescan_no_change_bucket_share.slots} slots (a bucket's share)`, `${r.rescan_no_change_bucket_share.over_sequential_listing} (${r.rescan_no_change_bucket_share.seconds} s)`],
    ['rescan, 0.1 % deleted + 0.1 % new', `${r.rescan_with_changes.seconds} s (${r.rescan_with_changes.deleted} deleted, ${r.rescan_with_changes.detected} detected)`],
    ['changed rescan / no-change rescan', `${r.changed_over_no_change} (goal <= 1.2)`],
    ['LIST calls per rescan / pages', `${r.list_calls_over_pages} (${r.list_calls_per_rescan} calls; goal <= 1.1)`],
    ['Redis bytes per tracked object', `${r.redis_bytes_per_tracked_object} (INFO used_memory delta; chunks alone ${r.redis_chunk_bytes_per_object}; goal < 130)`],
    ['peak RSS of the scanning process', `${r.peak_rss_mb} MB (${r.peak_rss_mb_after_first_scan} MB by the end of the first scan, ${r.idle_rss_mb} MB idle with its modules loaded; goal <= 150)`],
    ['first scan, no latency', `${r.first_scan_seconds_no_latency} s (seeding the fake S3: ${r.seed_seconds} s)`]
  ]
  for (const [k, v] of lines) process.stdout.write(`  ${k.padEnd(40)} ${v}\n`)
  mkdirSync('results', { recursive: true })
  const file = `results/bench-scan-latency-${r.date.replace(/[:.]/g, '-')}.json`
  writeFileSync(file, JSON.stringify(r, null, 2) + '\n')
  process.stdout.write(`  written to ${file}\n`)
}
