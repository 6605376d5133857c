import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort, waitFor } from './ports.ts'

export interface RedisServer {
  port: number
  url: string
  /** A fresh client; closed by stop(). */
  client (): Redis
  /** Stops the server with SIGKILL (a crash) or SIGTERM. */
  kill (signal?: NodeJS.Signals): Promise<void>
  /** The running server's pid (changes on restart). */
  readonly pid: number
  /** Sends a signal without waiting for an exit: SIGSTOP freezes the server (a hung store), SIGCONT thaws it. */
  signal (signal: NodeJS.Signals): void
  /**
   * Kills the server (if it still runs) and starts it again on the same port and directory: on
   * its data when started with `--appendonly yes`, empty otherwise (a restart without persistence).
   */
  restart (): Promise<void>
  stop (): Promise<void>
}

/** Starts a private redis-server on a free loopback port, kept in memory only. */
export async function startRedis (extraArgs: string[] = []): Promise<RedisServer> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'wf-redis-'))
  const launch = () => spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs], { stdio: 'ignore' })
  let proc = launch()
  const clients: Redis[] = []
  await waitFor(() => ping(port), { what: `redis-server on ${port}` })
  return {
    port,
    get pid () { return proc.pid! },
    signal (signal) { proc.kill(signal) },
    async restart () {
      await killProcess(proc, 'SIGKILL')
      proc = launch()
      await waitFor(() => ping(port), { what: `redis-server on ${port} after restart` })
    },
    url: `redis://127.0.0.1:${port}`,
    client () {
      const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 3, lazyConnect: false })
      c.on('error', () => {}) // a test that kills the server sees the failures through its commands
      clients.push(c)
      return c
    },
    kill: signal => killProcess(proc, signal ?? 'SIGKILL'),
    async stop () {
      proc.kill('SIGCONT') // a frozen server would never answer its clients' QUIT
      await Promise.all(clients.map(c => c.quit().catch(() => c.disconnect())))
      await killProcess(proc, 'SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export async function killProcess (proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise(resolve => proc.once('exit', resolve))
  proc.kill(signal)
  await exited
}

async function ping (port: number): Promise<boolean> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  c.on('error', () => {}) // refused while the server starts: the caller polls again
  try {
    await c.connect()
    return (await c.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    c.disconnect()
  }
}
