import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { stringify } from 'yaml'
import { freePort, waitFor } from '../../../test/support/ports.ts'
import { killProcess } from '../../../test/support/redis-server.ts'

/** A monitor running `main.ts` in a child process, as in production; its JSON log lines are kept. */
export interface MonitorProcess {
  proc: ChildProcess
  port: number
  logs: Array<Record<string, any>>
  stderr: () => string
  exitCode: Promise<number | null>
  kill (signal: NodeJS.Signals): Promise<void>
}

const MAIN = new URL('../src/main.ts', import.meta.url).pathname

/** Environment both replicas of a test share (the embedded secret store key must match). */
export function sharedEnv (): Record<string, string> {
  return {
    JWT_SECRET: randomBytes(32).toString('base64'),
    API_CLIENT_ID: 'test-client',
    API_CLIENT_SECRET: randomBytes(16).toString('hex'),
    SECRETS_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'info',
    SHUTDOWN_TIMEOUT_MS: '5000'
  }
}

export async function spawnMonitor (config: Record<string, unknown>, env: Record<string, string>, opts: { waitReady?: boolean } = {}): Promise<MonitorProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'wf-monitor-'))
  const configPath = join(dir, 'config.yaml')
  writeFileSync(configPath, stringify(config))
  const port = await freePort()
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, ...env, CONFIG_PATH: configPath, HTTP_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const logs: Array<Record<string, any>> = []
  let stderr = ''
  let partial = ''
  proc.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) { try { logs.push(JSON.parse(line)) } catch { stderr += line + '\n' } }
  })
  proc.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exitCode = new Promise<number | null>(resolve => proc.once('exit', code => { rmSync(dir, { recursive: true, force: true }); resolve(code) }))
  const monitor: MonitorProcess = { proc, port, logs, stderr: () => stderr, exitCode, kill: signal => killProcess(proc, signal) }
  if (opts.waitReady ?? true) {
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`monitor exited: ${stderr}`)
      return await ready(port)
    }, { timeoutMs: 20_000, what: 'monitor /ready' })
  }
  return monitor
}

export async function ready (port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/ready`)
    return res.status === 200
  } catch {
    return false
  }
}
