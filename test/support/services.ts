import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { freePort, waitFor } from './ports.ts'
import { killProcess } from './redis-server.ts'
import { MONITOR_ENV, MONITOR_NODE_FLAGS } from '../../services/monitor/src/process-tuning.ts'

/** One of the two services running its real main.ts in a child process, as in production. */
export interface ServiceProcess {
  name: string
  port: number
  proc: ChildProcess
  /** Parsed JSON log lines. */
  logs: Array<Record<string, any>>
  /** Everything that was not a JSON log line (stderr, crashes). */
  output: () => string
  /** Everything it wrote to stdout and stderr, as written (for searching a whole run's logs). */
  raw: () => string
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null, atMs: number }>
  kill (signal: NodeJS.Signals): Promise<void>
}

const MAIN = {
  monitor: new URL('../../services/monitor/src/main.ts', import.meta.url).pathname,
  consumer: new URL('../../services/consumer/src/main.ts', import.meta.url).pathname
}

/** Starts `npm run monitor` / `npm run consumer` equivalents with a YAML config and env; waits for /ready. */
export async function spawnService (kind: 'monitor' | 'consumer', name: string, config: Record<string, unknown>, env: Record<string, string>, opts: { waitReady?: boolean, port?: number } = {}): Promise<ServiceProcess> {
  const dir = mkdtempSync(join(tmpdir(), `wf-${kind}-`))
  const configPath = join(dir, 'config.yaml')
  writeFileSync(configPath, stringify(config))
  const port = opts.port ?? await freePort()
  // A monitor runs with the shipped heap and allocator settings, as in its image.
  const tuning = kind === 'monitor' ? { flags: MONITOR_NODE_FLAGS, env: MONITOR_ENV } : { flags: [], env: {} }
  const proc = spawn(process.execPath, [...tuning.flags, MAIN[kind]], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...tuning.env, ...env, CONFIG_PATH: configPath, HTTP_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const logs: Array<Record<string, any>> = []
  let output = ''
  let raw = ''
  let partial = ''
  proc.stdout!.on('data', (chunk: Buffer) => {
    raw += chunk.toString()
    const lines = (partial + chunk.toString()).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) { try { logs.push(JSON.parse(line)) } catch { output += line + '\n' } }
  })
  proc.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); raw += chunk.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null, atMs: number }>(resolve => proc.once('exit', (code, signal) => {
    rmSync(dir, { recursive: true, force: true })
    resolve({ code, signal, atMs: Date.now() })
  }))
  const service: ServiceProcess = { name, port, proc, logs, output: () => output, raw: () => raw, exited, kill: signal => killProcess(proc, signal) }
  if (opts.waitReady ?? true) {
    try {
      await waitFor(async () => {
        if (proc.exitCode !== null) throw new Error(`${name} exited: ${output}`)
        return (await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined))?.status === 200
      }, { timeoutMs: 30_000, everyMs: 100, what: `${name} /ready` })
    } catch (err) {
      await service.kill('SIGKILL') // a service that never got ready is not left running
      throw err
    }
  }
  return service
}
