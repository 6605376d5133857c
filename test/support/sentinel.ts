import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
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
  /** kill -9 the current master. */
  killMaster (): Promise<void>
  /** The port Sentinel reports as master now. */
  currentMasterPort (): number
  stop (): Promise<void>
}

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
    currentMasterPort: () => Number(tryCli(sentinelPorts[0]!, 'sentinel', 'get-master-addr-by-name', masterName).split('\n')[1]),
    async killMaster () {
      const port = Number(tryCli(sentinelPorts[0]!, 'sentinel', 'get-master-addr-by-name', masterName).split('\n')[1])
      const proc = procs.get(port)
      if (proc) await killProcess(proc, 'SIGKILL')
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
