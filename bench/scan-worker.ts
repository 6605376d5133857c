// The latency benchmark's scanner in a process of its own, started as the monitor is and
// without the baseline's client, so that its peak RSS is a monitor's: it scans when told to
// over IPC and answers with the duration, the scan's counters, its CPU time and peak RSS.
import { Redis } from 'ioredis'
import { createBenchScanner } from './scan-support.ts'

type Message = { type: 'scan', bucket: string, perBucket?: number }

const [port, endpoint] = [Number(process.argv[2]), process.argv[3]!]
const redis = new Redis({ port, host: '127.0.0.1' })
const scanner = createBenchScanner(redis, endpoint)

process.on('message', (m: Message) => {
  const cpu = process.cpuUsage()
  scanner.scan(m.bucket, m.perBucket).then(
    ({ ms, progress }) => {
      const used = process.cpuUsage(cpu)
      process.send!({ ms, progress, cpuMs: (used.user + used.system) / 1000, peakRssMb: process.resourceUsage().maxRSS / 1024 })
    },
    (err: Error) => process.send!({ error: err.stack ?? err.message })
  )
})
process.on('disconnect', () => {
  scanner.client.destroy()
  void redis.quit().finally(() => process.exit(0))
})
process.send!({ type: 'ready', idleRssMb: process.memoryUsage().rss / 1024 / 1024 })
