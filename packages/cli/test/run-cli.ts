import { spawn, type ChildProcess } from 'node:child_process'

export interface Ran { code: number | null, stdout: string, stderr: string, json: () => any }

const MAIN = new URL('../src/main.ts', import.meta.url).pathname

/**
 * Runs `watch-folder ARGS` in a child process, as `npx watch-folder` does, with only PATH and
 * `env` in its environment and `stdin` on its standard input. `child` is there to signal it.
 */
export function runCli (args: string[], opts: { env?: Record<string, string>, stdin?: string } = {}): Promise<Ran> & { child: ChildProcess } {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH!, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', d => { stdout += d })
  child.stderr.on('data', d => { stderr += d })
  child.stdin.end(opts.stdin ?? '')
  const done = new Promise<Ran>(resolve => child.once('close', code => resolve({ code, stdout, stderr, json: () => JSON.parse(stdout) })))
  return Object.assign(done, { child })
}
