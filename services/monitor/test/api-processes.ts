import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { freePort, waitFor } from '../../../test/support/ports.ts'
import { killProcess } from '../../../test/support/redis-server.ts'

/** A service running its real main.ts in a child process (`npm run monitor` / `npm run consumer`). */
export interface ServiceProcess {
  proc: ChildProcess
  port: number
  /** Everything it wrote to stdout and stderr. */
  output (): string
  stop (): Promise<void>
}

/** Writes the YAML config, starts the service with `env`, and waits for /ready. */
export async function spawnService (kind: 'monitor' | 'consumer', config: Record<string, unknown>, env: Record<string, string>): Promise<ServiceProcess> {
  const dir = mkdtempSync(join(tmpdir(), `wf-api-${kind}-`))
  const configPath = join(dir, 'config.yaml')
  writeFileSync(configPath, stringify(config))
  const port = await freePort()
  const main = new URL(`../../${kind}/src/main.ts`, import.meta.url).pathname
  const proc = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env, CONFIG_PATH: configPath, HTTP_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  proc.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  proc.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const stop = async () => {
    await killProcess(proc, 'SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`${kind} exited: ${output}`)
      return (await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined))?.status === 200
    }, { timeoutMs: 30_000, everyMs: 100, what: `${kind} ready` })
  } catch (err) {
    await stop()
    throw err
  }
  return { proc, port, output: () => output, stop }
}

/** A JSON client for the monitor's API holding one bearer token. */
export function apiClient (port: number) {
  let token = ''
  async function call (method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number, json: any }> {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { ...(token && { authorization: `Bearer ${token}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await res.text()
    return { status: res.status, json: text ? JSON.parse(text) : undefined }
  }
  return {
    call,
    get token () { return token },
    async login (clientId: string, clientSecret: string): Promise<void> {
      const res = await call('POST', '/api/auth/token', { client_id: clientId, client_secret: clientSecret })
      if (res.status !== 200) throw new Error(`token: ${res.status} ${JSON.stringify(res.json)}`)
      token = res.json.access_token
    }
  }
}
