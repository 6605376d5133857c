// Scale-out benchmark: BENCH_BUCKETS (2,000) buckets of 100 objects, polling every
// 10 s, first one monitor process and then two on the same Redis. For each phase: scans per
// bucket per interval (duplicates and misses), how late scans start against their schedule,
// and CPU and memory per process. Writes results/scale.{json,md} and an SVG chart.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createKeys } from '@internal/redis'
import { bucketSecretNames, createBucketStore, createEmbeddedSecretStore, parseSecretsKey } from '@internal/buckets'
import { startRedis } from '../test/support/redis-server.ts'
import { startFakeS3 } from '../test/support/fake-s3.ts'
import { spawnService, type ServiceProcess } from '../test/support/services.ts'
import { waitFor } from '../test/support/ports.ts'
import { barChart, histogram, summarize, writeResult } from './report.ts'

const BUCKETS = Number(process.env.BENCH_BUCKETS ?? 2000)
const OBJECTS = 100
const INTERVAL_S = 10
const WINDOW_S = Number(process.env.BENCH_SCALE_WINDOW ?? 40)

const keys = createKeys({ queueName: 'linode:notifications:queue', deadLetterName: 'linode:notifications:dead', statePrefix: 'linode:objstore:state:' })

function cpuSeconds (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100 // utime + stime, in clock ticks of 1/100 s
}

function memoryMb (pid: number): { rss: number, peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 }
}

interface Phase { monitors: number, scans: number, expected: number, duplicates: number, misses: number, lateMs: ReturnType<typeof summarize>, lateValues: number[], perProcess: Array<{ cpuCores: number, rssMb: number, peakRssMb: number }> }

function analyse (starts: Map<string, number[]>, from: number, to: number, procs: ServiceProcess[], cpuBefore: number[]): Phase {
  let scans = 0
  let duplicates = 0
  let misses = 0
  const lateValues: number[] = []
  for (const times of starts.values()) {
    const inWindow = times.filter(t => t >= from && t < to)
    scans += inWindow.length
    const before = times.filter(t => t < from).at(-1)
    const series = before === undefined ? inWindow : [before, ...inWindow]
    for (let i = 1; i < series.length; i++) {
      const gap = series[i]! - series[i - 1]!
      if (gap < INTERVAL_S * 500) duplicates++
      else lateValues.push(Math.max(0, gap - INTERVAL_S * 1000))
      if (gap > INTERVAL_S * 1500) misses++
    }
    const last = series.at(-1)
    if (last === undefined || to - last > INTERVAL_S * 1500) misses++
  }
  const seconds = (to - from) / 1000
  const perProcess = procs.map((p, i) => {
    const mem = memoryMb(p.proc.pid!)
    return { cpuCores: (cpuSeconds(p.proc.pid!) - cpuBefore[i]!) / seconds, rssMb: mem.rss, peakRssMb: mem.peak }
  })
  return { monitors: procs.length, scans, expected: starts.size * seconds / INTERVAL_S, duplicates, misses, lateMs: summarize(lateValues), lateValues, perProcess }
}

export async function run (): Promise<void> {
  const redisServer = await startRedis()
  const s3 = await startFakeS3()
  const starts = new Map<string, number[]>()
  const procs: ServiceProcess[] = []
  try {
    const redis = redisServer.client()
    const secretsKey = randomBytes(32).toString('base64')
    const secrets = createEmbeddedSecretStore(redis, keys.secrets, parseSecretsKey(secretsKey))
    const store = createBucketStore(redis, keys)
    const now = Date.now() - 2 * 86_400_000
    for (let b = 0; b < BUCKETS; b++) {
      const name = `scale-${String(b).padStart(5, '0')}`
      s3.createBucket(name)
      s3.seed(name, Array.from({ length: OBJECTS }, (_, i) => ({ key: `d0/obj-${String(i).padStart(4, '0')}.dat`, lastModified: now })))
      const names = bucketSecretNames(name)
      await secrets.set(names.ACCESS_KEY, 'scale-access')
      await secrets.set(names.SECRET_KEY, 'scale-secret')
      await store.save({ name, endpoint: s3.endpoint, status: 'active', first_scan: 'baseline' }, 'put')
      starts.set(name, [])
    }
    s3.intercept = req => {
      if (req.op === 'list' && req.page === 1) starts.get(req.bucket)?.push(Date.now())
      return undefined
    }
    const config = { defaults: { polling_interval: INTERVAL_S }, redis: { host: '127.0.0.1', port: redisServer.port }, webhook: { allowed_networks: ['127.0.0.0/8'] } }
    const env = { SECRETS_KEY: secretsKey, JWT_SECRET: randomBytes(32).toString('base64'), API_CLIENT_ID: 'bench', API_CLIENT_SECRET: randomBytes(16).toString('hex'), LOG_LEVEL: 'warn' }
    const phases: Phase[] = []
    for (const count of [1, 2]) {
      while (procs.length < count) procs.push(await spawnService('monitor', `monitor-${procs.length + 1}`, config, { ...env, MONITOR_ID: `bench-${procs.length + 1}` }))
      // Settle: every bucket scanned at least once since this phase began, plus one interval.
      const settleFrom = Date.now()
      await waitFor(() => [...starts.values()].every(t => (t.at(-1) ?? 0) >= settleFrom - INTERVAL_S * 1000), { timeoutMs: 120_000, everyMs: 500, what: 'first scans' })
      await new Promise(resolve => setTimeout(resolve, INTERVAL_S * 1000))
      const cpuBefore = procs.map(p => cpuSeconds(p.proc.pid!))
      const from = Date.now()
      await new Promise(resolve => setTimeout(resolve, WINDOW_S * 1000))
      phases.push(analyse(starts, from, Date.now(), procs, cpuBefore))
    }
    report(phases)
  } finally {
    await Promise.all(procs.map(p => p.kill('SIGKILL')))
    await s3.close()
    await redisServer.stop()
  }
}

function report (phases: Phase[]): void {
  for (const p of phases) {
    console.log(`scale: ${p.monitors} monitor(s), ${BUCKETS} buckets x ${OBJECTS} objects every ${INTERVAL_S}s: scans ${p.scans} / expected ${p.expected.toFixed(0)} ` +
      `(ratio ${(p.scans / p.expected).toFixed(3)}), duplicates ${p.duplicates}, misses ${p.misses}, late p50 ${p.lateMs.p50} ms p99 ${p.lateMs.p99} ms max ${p.lateMs.max} ms; ` +
      p.perProcess.map((q, i) => `process ${i + 1}: ${q.cpuCores.toFixed(2)} cores, RSS ${q.rssMb.toFixed(0)} MB (peak ${q.peakRssMb.toFixed(0)})`).join('; '))
  }
  const markdown = [
    `# Scale-out: ${BUCKETS} buckets x ${OBJECTS} objects, polling ${INTERVAL_S} s, ${WINDOW_S} s window per phase`, '',
    '| monitors | scans / expected | duplicates | misses | start lateness p50 / p99 / max | CPU per process | RSS per process |', '| --- | --- | --- | --- | --- | --- | --- |',
    ...phases.map(p => `| ${p.monitors} | ${p.scans} / ${p.expected.toFixed(0)} | ${p.duplicates} | ${p.misses} | ${p.lateMs.p50} / ${p.lateMs.p99} / ${p.lateMs.max} ms | ${p.perProcess.map(q => q.cpuCores.toFixed(2)).join(', ')} cores | ${p.perProcess.map(q => q.rssMb.toFixed(0)).join(', ')} MB |`),
    '', 'Lateness = gap between two scans of a bucket minus the interval. Chart: scale-lateness.svg.', ''
  ].join('\n')
  const chart = barChart({ title: 'Scan start lateness (ms), two monitors', bars: histogram(phases.at(-1)!.lateValues, 20, 'ms'), xLabel: 'lateness', yLabel: 'scans' })
  writeResult('scale', { date: new Date().toISOString(), buckets: BUCKETS, objects: OBJECTS, intervalSec: INTERVAL_S, phases: phases.map(({ lateValues, ...rest }) => rest) }, markdown, { 'scale-lateness.svg': chart })
}
