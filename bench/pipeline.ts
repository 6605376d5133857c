// End-to-end benchmark: objects uploaded at a steady rate to the in-repo S3 server,
// a real monitor and consumer process, and a receiver; latency from upload to webhook receipt
// for polling intervals of 1 s and 30 s. Writes results/pipeline.{json,md} and SVG charts.
import { startPipeline } from '../test/support/pipeline.ts'
import { waitFor } from '../test/support/ports.ts'
import { barChart, histogram, summarize, writeResult } from './report.ts'

interface LatencyRun { intervalSec: number, uploads: number, uploadEveryMs: number, latenciesMs: number[], perSecond: number[], lost: number, duplicates: number }

async function measure (intervalSec: number, uploads: number, uploadEveryMs: number): Promise<LatencyRun> {
  const p = await startPipeline({ pollingIntervalSec: intervalSec, bucket: { first_scan: 'baseline' } })
  try {
    await p.startMonitor()
    await p.startConsumer()
    // The bucket's first scan records what is there (first_scan: baseline); measure changes after it.
    const redis = p.redis!.client()
    await waitFor(async () => await redis.exists(`linode:objstore:last_scan:${p.bucket}`) === 1, { timeoutMs: (intervalSec + 10) * 1000, what: 'first scan' })
    const uploadedAt = new Map<string, number>()
    const latenciesMs: number[] = []
    const start = Date.now()
    const perSecond: number[] = []
    const respond = p.receiver.respond
    p.receiver.respond = (req, res) => {
      const at = uploadedAt.get(req.json?.key)
      if (at !== undefined && !p.deliveries.has(req.json.event_id)) { // the first delivery of this event (counted by the wrapped respond)
        latenciesMs.push(req.receivedAt - at)
        const second = Math.floor((req.receivedAt - start) / 1000)
        perSecond[second] = (perSecond[second] ?? 0) + 1
      }
      return respond(req, res)
    }
    for (let i = 0; i < uploads; i++) {
      const key = `bench/d${String(i % 10).padStart(2, '0')}/obj-${String(i).padStart(6, '0')}.dat`
      uploadedAt.set(key, Date.now())
      p.s3.put(p.bucket, key, `payload-${i}`)
      await new Promise(resolve => setTimeout(resolve, uploadEveryMs))
    }
    await waitFor(() => latenciesMs.length >= uploads, { timeoutMs: (intervalSec + 15) * 1000, everyMs: 100, what: 'every upload delivered' }).catch(() => {})
    return { intervalSec, uploads, uploadEveryMs, latenciesMs, perSecond: Array.from(perSecond, v => v ?? 0), lost: uploads - latenciesMs.length, duplicates: p.duplicates() }
  } finally {
    await p.stop()
  }
}

export async function run (): Promise<void> {
  const runs = [await measure(1, 200, 100), await measure(30, 120, 500)]
  const rows = runs.map(r => ({ intervalSec: r.intervalSec, uploads: r.uploads, lost: r.lost, duplicates: r.duplicates, latencyMs: summarize(r.latenciesMs) }))
  for (const r of rows) {
    const l = r.latencyMs
    console.log(`pipeline: polling ${r.intervalSec}s  n=${l.n} p50 ${(l.p50 / 1000).toFixed(2)} s  p99 ${(l.p99 / 1000).toFixed(2)} s  max ${(l.max / 1000).toFixed(2)} s  ` +
      `p50/interval ${(l.p50 / 1000 / r.intervalSec).toFixed(2)}  max/interval ${(l.max / 1000 / r.intervalSec).toFixed(2)}  lost ${r.lost}  duplicates ${r.duplicates}`)
  }
  const markdown = [
    '# End-to-end latency (upload -> webhook received)', '',
    '| polling interval | uploads | p50 | p99 | max | p50 / interval | lost | duplicates |', '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(r => `| ${r.intervalSec} s | ${r.uploads} | ${(r.latencyMs.p50 / 1000).toFixed(2)} s | ${(r.latencyMs.p99 / 1000).toFixed(2)} s | ${(r.latencyMs.max / 1000).toFixed(2)} s | ${(r.latencyMs.p50 / 1000 / r.intervalSec).toFixed(2)} | ${r.lost} | ${r.duplicates} |`),
    '', 'Charts: latency-1s.svg, latency-30s.svg (distribution), throughput-1s.svg (deliveries per second).', ''
  ].join('\n')
  const charts: Record<string, string> = {}
  for (const r of runs) {
    charts[`latency-${r.intervalSec}s.svg`] = barChart({ title: `Upload to webhook, polling ${r.intervalSec} s (n=${r.latenciesMs.length})`, bars: histogram(r.latenciesMs.map(ms => ms / 1000), 20, 's'), xLabel: 'latency (s)', yLabel: 'events' })
  }
  charts['throughput-1s.svg'] = barChart({ title: 'Deliveries per second, polling 1 s', bars: runs[0]!.perSecond.map((value, i) => ({ label: `${i}s`, value })), xLabel: 'time (s)', yLabel: 'deliveries' })
  writeResult('pipeline', { date: new Date().toISOString(), runs: rows }, markdown, charts)
}
