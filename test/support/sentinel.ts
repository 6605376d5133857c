import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, waitFor } from './ports.ts'
import { killProcess } from './redis-server.ts'

export interface SentinelTopology {
  masterName: string
  masterPort: number
  replicaPort: number
  sentinelPorts: number[]
  /** `127.0.0.1:p1,127.0.0.1:p2,...` as REDIS_SENTINEL_HOST accepts it. */
  sentinelHosts: string
  /** kill -9 the current master; resolves with its port. */
  killMaster (): Promise<number>
  /** The master port a majority of the sentinels agree on (asked until they do, within `timeoutMs`). */
  currentMasterPort (timeoutMs?: number): Promise<number>
  /**
   * Resolves with the new master's port once a majority of the sentinels report a master other
   * than `from` (they switch on +switch-master); rejects after `timeoutMs`. Tests wait on this
   * instead of a fixed pause, which a slow machine outlasts.
   */
  waitForNewMaster (from: number, timeoutMs?: number): Promise<number>
  stop (): Promise<void>
}

const execFileAsync = promisify(execFile)
const cli = (port: number, ...args: string[]) => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 2000 })

/**
 * Master + replica + 3 sentinels on loopback, ready in about 1.3 s (../shared/notes/test-infra.md):
 * diskless sync without delay, sentinels started once the replica is in sync, peers pre-seeded.
 */
export async function startSentinelTopology (masterName = 'mymaster'): Promise<SentinelTopology> {
  const dir = mkdtempSync(join(tmpdir(), 'wf-sentinel-'))
  const [masterPort, replicaPort, ...sentinelPorts] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]) as [number, number, number, number, number]
  const procs = new Map<number, ChildProcess>()
  const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
    '--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0', '--repl-diskless-load', 'on-empty-db']
  procs.set(masterPort, spawn('redis-server', ['--port', String(masterPort), ...common], { stdio: 'ignore' }))
  await waitFor(() => tryCli(masterPort, 'ping') === 'PONG', { what: 'master' })
  procs.set(replicaPort, spawn('redis-server', ['--port', String(replicaPort), '--replicaof', '127.0.0.1', String(masterPort), ...common], { stdio: 'ignore' }))
  await waitFor(() => /master_link_status:up/.test(tryCli(replicaPort, 'info', 'replication')), { what: 'replica sync' })
  sentinelPorts.forEach((port, i) => {
    const conf = join(dir, `sentinel-${port}.conf`)
    writeFileSync(conf, sentinelConf(port, i, sentinelPorts, masterName, masterPort, replicaPort, dir))
    procs.set(port, spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }))
  })
  await waitFor(() => sentinelPorts.every(p => sentinelReady(p, masterName)), { what: 'sentinel topology', timeoutMs: 15_000 })

  return {
    masterName,
    masterPort,
    replicaPort,
    sentinelPorts,
    sentinelHosts: sentinelPorts.map(p => `127.0.0.1:${p}`).join(','),
    currentMasterPort: (timeoutMs = 10_000) => agreedMaster(sentinelPorts, masterName, port => port > 0, timeoutMs, 'sentinels agree on a master'),
    waitForNewMaster: (from, timeoutMs = 20_000) => agreedMaster(sentinelPorts, masterName, port => port > 0 && port !== from, timeoutMs, `sentinels switch away from master ${from}`),
    async killMaster () {
      const port = await agreedMaster(sentinelPorts, masterName, p => p > 0, 10_000, 'the master to kill')
      const proc = procs.get(port)
      if (!proc) throw new Error(`no process of this topology listens on ${port}`)
      await killProcess(proc, 'SIGKILL')
      return port
    },
    async stop () {
      await Promise.all([...procs.values()].map(p => killProcess(p, 'SIGKILL')))
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

function sentinelConf (port: number, i: number, ports: number[], name: string, master: number, replica: number, dir: string): string {
  const id = (n: number) => String(n + 1).padStart(40, '0')
  const peers = ports.map((p, j) => j === i ? '' : `sentinel known-sentinel ${name} 127.0.0.1 ${p} ${id(j)}`).filter(Boolean)
  return [
    `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
    `sentinel monitor ${name} 127.0.0.1 ${master} 2`,
    `sentinel down-after-milliseconds ${name} 1000`,
    `sentinel failover-timeout ${name} 2000`,
    `sentinel parallel-syncs ${name} 1`,
    `sentinel myid ${id(i)}`,
    ...peers,
    `sentinel known-replica ${name} 127.0.0.1 ${replica}`
  ].join('\n') + '\n'
}

// Asked with async redis-cli calls: a blocking call would stall the test's own traffic.
async function masterSeenBy (port: number, name: string): Promise<number> {
  try {
    const { stdout } = await execFileAsync('redis-cli', ['-p', String(port), 'sentinel', 'get-master-addr-by-name', name], { encoding: 'utf8', timeout: 2000 })
    return Number(stdout.trim().split('\n')[1] ?? NaN)
  } catch {
    return NaN
  }
}

/** Polls every sentinel until a majority name the same master port accepted by `wanted`; throws at the deadline. */
async function agreedMaster (ports: number[], name: string, wanted: (port: number) => boolean, timeoutMs: number, what: string): Promise<number> {
  let agreed = NaN
  await waitFor(async () => {
    const seen = await Promise.all(ports.map(p => masterSeenBy(p, name)))
    agreed = seen.find(port => wanted(port) && seen.filter(s => s === port).length > ports.length / 2) ?? NaN
    return !Number.isNaN(agreed)
  }, { timeoutMs, everyMs: 50, what })
  return agreed
}

function tryCli (port: number, ...args: string[]): string {
  try { return cli(port, ...args).trim() } catch { return '' }
}

function flags (text: string): string[] {
  const lines = text.split('\n')
  return lines.flatMap((line, i) => line === 'flags' ? [lines[i + 1] ?? ''] : [])
}

function sentinelReady (port: number, name: string): boolean {
  const master = flags(tryCli(port, 'sentinel', 'master', name))
  const replicas = flags(tryCli(port, 'sentinel', 'replicas', name))
  const peers = flags(tryCli(port, 'sentinel', 'sentinels', name))
  return master[0] === 'master' && replicas[0] === 'slave' && peers.length === 2 && peers.every(f => f === 'sentinel')
}
