import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { spawnService } from '../../../test/support/services.ts'

/** A monitor running `main.ts` in a child process, as in production; its JSON log lines are kept. */
export interface MonitorProcess {
  proc: ChildProcess
  port: number
  logs: Array<Record<string, any>>
  stderr: () => string
  exitCode: Promise<number | null>
  kill (signal: NodeJS.Signals): Promise<void>
}

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

export async function spawnMonitor (config: Record<string, unknown>, env: Record<string, string>, opts: { waitReady?: boolean, port?: number } = {}): Promise<MonitorProcess> {
  const service = await spawnService('monitor', 'monitor', config, env, opts)
  return { proc: service.proc, port: service.port, logs: service.logs, stderr: service.output, exitCode: service.exited.then(e => e.code), kill: service.kill }
}

export async function ready (port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/ready`)
    return res.status === 200
  } catch {
    return false
  }
}
