import type { ChildProcess } from 'node:child_process'
import { spawnService as spawnChild } from '../../../test/support/services.ts'

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
  const child = await spawnChild(kind, kind, config, env)
  return { proc: child.proc, port: child.port, output: child.raw, stop: () => child.kill('SIGTERM') }
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
