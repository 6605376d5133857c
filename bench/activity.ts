import { execFileSync, fork, type ChildProcess } from 'node:child_process'
import { availableParallelism, setPriority } from 'node:os'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { startRedis } from '../test/support/redis-server.ts'
import { spawnService, type ServiceProcess } from '../test/support/services.ts'
import { consumerRun, startBenchReceiver, summary } from './delivery.ts'
import { writeResult } from './report.ts'

// `npm run bench -- activity`: deliveries per second of a consumer (history on) with no
// activity client, and with 100 clients on a monitor process's GET /api/activity (99 reading
// in a process of their own, one never reading), in alternating pairs on the same Redis.

const EVENTS = Number(process.env.BENCH_ACTIVITY_EVENTS ?? 10_000)
const PAIRS = Number(process.env.BENCH_ACTIVITY_PAIRS ?? 5)
const CLIENTS = 100

// Deployed, the monitor (and the clients) run elsewhere than the consumer and Redis. On one
// machine the benchmark keeps them apart as well: with two or more CPUs this process (the
// consumer) and Redis on the first CPU, the monitor and the clients on the second, and those
// two at the lowest priority, so the machine's other work goes to them rather than to the
// consumer's CPU. Without that, the 99 readers' own parsing (hundreds of MB per run) would
// take the consumer's CPU.
const PINNED = availableParallelism() >= 2 && (() => { try { execFileSync('taskset', ['-V'], { stdio: 'ignore' }); return true } catch { return false } })()
function pin (pid: number, cpu: number): void {
  if (PINNED) execFileSync('taskset', ['-a', '-cp', String(cpu), String(pid)], { stdio: 'ignore' })
  if (cpu > 0) setPriority(pid, 19)
}

interface Clients { child: ChildProcess, counts (): Promise<number>, stop (): Promise<void> }

async function startClients (url: string, token: string, readers: number): Promise<Clients> {
  const child = fork(new URL('./activity-clients-child.ts', import.meta.url).pathname, [url, token, String(readers)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  pin(child.pid!, 1)
  const [first] = await once(child, 'message') as [{ type: string, message?: string }]
  if (first.type !== 'ready') throw new Error(`activity clients failed: ${first.message}`)
  return {
    child,
    async counts () {
      child.send({ type: 'counts' })
      const [m] = await once(child, 'message') as [{ events: number }]
      return m.events
    },
    async stop () {
      const exited = once(child, 'exit')
      child.disconnect()
      await exited
    }
  }
}

async function startMonitor (redisPort: number): Promise<{ monitor: ServiceProcess, url: string, token: string }> {
  const env = { SECRETS_KEY: randomBytes(32).toString('base64'), JWT_SECRET: randomBytes(32).toString('base64'), API_CLIENT_ID: 'bench', API_CLIENT_SECRET: randomBytes(16).toString('hex'), LOG_LEVEL: 'info' }
  const monitor = await spawnService('monitor', 'activity-monitor', { redis: { host: '127.0.0.1', port: redisPort }, api: { token_rate_limit: 1000 } }, env)
  pin(monitor.proc.pid!, 1)
  const url = `http://127.0.0.1:${monitor.port}`
  const res = await fetch(`${url}/api/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: env.API_CLIENT_ID, client_secret: env.API_CLIENT_SECRET }) })
  return { monitor, url, token: (await res.json() as { access_token: string }).access_token }
}

// CPU time of a process so far, ms (utime + stime of /proc/PID/stat, in clock ticks of 10 ms).
function cpuMsOf (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/**
 * One consumer run: deliveries per second, and the CPU this process (the consumer, plus the
 * receiver) and the monitor spent per delivery, which the machine's other load does not change.
 */
async function measure (redisPort: number, receiver: Awaited<ReturnType<typeof startBenchReceiver>>, events: number, monitorPid: number) {
  const cpu = process.cpuUsage()
  const monitorMs = cpuMsOf(monitorPid)
  const started = await consumerRun(redisPort, receiver.url, events)
  const used = process.cpuUsage(cpu)
  return { ...summary(receiver.reset(), started), consumer_cpu_us: Math.round((used.user + used.system) / events), monitor_cpu_us: Math.round((cpuMsOf(monitorPid) - monitorMs) * 1000 / events) }
}

/** Alternating pairs (without, with the clients); the ratio of each pair, and their median. */
export async function runActivityBench ({ events = EVENTS, pairs = PAIRS } = {}) {
  pin(process.pid, 0)
  const redis = await startRedis() // started after the pin: it inherits the first CPU
  const receiver = await startBenchReceiver()
  const { monitor, url, token } = await startMonitor(redis.port)
  try {
    await consumerRun(redis.port, receiver.url, Math.min(events, 2000)) // warm-up, not counted
    receiver.reset()
    const runs: Array<{ without: Awaited<ReturnType<typeof measure>>, with: Awaited<ReturnType<typeof measure>>, reader_events: number }> = []
    // The order alternates within pairs, so warming up favours neither side.
    for (let i = 0; i < pairs; i++) {
      const first = i % 2 === 0 ? await measure(redis.port, receiver, events, monitor.proc.pid!) : undefined
      const clients = await startClients(url, token, CLIENTS - 1)
      const withClients = await measure(redis.port, receiver, events, monitor.proc.pid!)
      await new Promise(resolve => setTimeout(resolve, 300)) // the last events reach the readers
      const readerEvents = await clients.counts()
      await clients.stop()
      runs.push({ without: first ?? await measure(redis.port, receiver, events, monitor.proc.pid!), with: withClients, reader_events: readerEvents })
    }
    const ratios = runs.map(r => r.with.per_second / r.without.per_second)
    const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]!
    const dropped = monitor.logs.filter(l => l.msg === 'activity client dropped: not reading').length
    return { suite: 'activity', at: new Date().toISOString(), events, clients: CLIENTS, pinned: PINNED, runs, ratios: ratios.map(r => +r.toFixed(2)), ratio: +median.toFixed(2), stalled_clients_dropped: dropped }
  } finally {
    await monitor.kill('SIGKILL')
    receiver.server.closeAllConnections()
    receiver.server.close()
    await redis.stop()
  }
}

/** The `npm run bench -- activity` entry point. */
export async function run (): Promise<void> {
  const r = await runActivityBench()
  const lines = r.runs.map((x, i) => `| ${i + 1} | ${x.without.per_second} | ${x.with.per_second} | ${r.ratios[i]} | ${x.without.consumer_cpu_us} / ${x.with.consumer_cpu_us} | ${x.with.monitor_cpu_us} | ${x.reader_events} |`)
  writeResult('activity', r, ['# Activity stream benchmark', '', `${r.events} events per run; ${r.clients} SSE clients on a monitor process (one never reading).`, '',
    '| pair | deliveries/s without | with 100 clients | ratio | consumer CPU us per delivery, without / with | monitor CPU us per delivery, with | events at the 99 readers |', '| --- | --- | --- | --- | --- | --- | --- |', ...lines, '',
    `Median ratio **${r.ratio}**; stalled clients dropped: ${r.stalled_clients_dropped}; consumer and Redis on one CPU, monitor and clients on another: ${r.pinned}.`, ''].join('\n'))
  const cpu = r.runs.map(x => `${x.without.consumer_cpu_us}/${x.with.consumer_cpu_us}`).join(', ')
  process.stdout.write(`activity: without clients ${r.runs.map(x => x.without.per_second).join(', ')}/s; with ${r.clients} clients ${r.runs.map(x => x.with.per_second).join(', ')}/s; ratio ${r.ratio} (pairs ${r.ratios.join(', ')}); consumer CPU us per delivery without/with ${cpu}; monitor ${r.runs.map(x => x.with.monitor_cpu_us).join(', ')} us per delivery; stalled dropped ${r.stalled_clients_dropped}\n`)
}
