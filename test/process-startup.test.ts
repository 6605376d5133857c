// Both services as real processes: each way start-up can fail ends with one `cannot start:`
// line naming the cause and exit 1 (no stack trace); HTTP_HOST picks the bound address; and
// SIGTERM or Ctrl-C to `npm run monitor` / `npm run consumer` stops the service itself.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { startRedis, type RedisServer } from './support/redis-server.ts'
import { spawnService } from './support/services.ts'
import { freePort, waitFor } from './support/ports.ts'
import { sharedEnv } from '../services/monitor/test/spawn-monitor.ts'
import { ROOT } from './k8s-support.ts'

type Kind = 'monitor' | 'consumer'
const SERVICE: Record<Kind, string> = { monitor: 'bucket-monitor', consumer: 'webhook-consumer' }
let redis: RedisServer
before(async () => { redis = await startRedis() })
after(async () => { await redis.stop() })

const configFor = (port: number) => ({ redis: { host: '127.0.0.1', port } })
const envFor = (kind: Kind) => kind === 'monitor' ? sharedEnv() : { SECRETS_KEY: sharedEnv().SECRETS_KEY!, LOG_LEVEL: 'info' }

/**
 * What a failed start wrote to stderr: one `cannot start:` line (a configuration error adds
 * one `- ` line per problem below it), never a stack trace.
 */
async function failedStart (kind: Kind, config: Record<string, unknown>, env: Record<string, string>, port?: number): Promise<string> {
  const service = await spawnService(kind, kind, config, env, { waitReady: false, port })
  const { code } = await service.exited
  const stderr = service.output().trim()
  assert.equal(code, 1, stderr)
  const [first, ...rest] = stderr.split('\n')
  assert.ok(rest.every(l => l.startsWith('  - ')), `one line, or one per configuration problem: ${stderr}`)
  assert.ok(first!.endsWith(':') === (rest.length > 0), stderr)
  assert.doesNotMatch(stderr, /\n\s+at |Error:/, 'no stack trace')
  assert.ok(stderr.startsWith(`${SERVICE[kind]}: cannot start: `), stderr)
  return stderr
}

for (const kind of ['monitor', 'consumer'] as const) {
  test(`${kind}: a port in use is one cannot-start line naming the port`, async (t) => {
    const taken: Server = createServer()
    const port = await freePort()
    await new Promise<void>(resolve => taken.listen(port, '127.0.0.1', resolve))
    t.after(() => { taken.close() })
    const line = await failedStart(kind, configFor(redis.port), { ...envFor(kind), HTTP_HOST: '127.0.0.1' }, port)
    assert.match(line, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use \\(HTTP_PORT, HTTP_HOST\\)`))
  })

  test(`${kind}: an unreachable Redis at start is one cannot-start line naming it`, async () => {
    const nobody = await freePort()
    const started = Date.now()
    const line = await failedStart(kind, configFor(nobody), { ...envFor(kind), STARTUP_REDIS_TIMEOUT_MS: '1500' })
    assert.match(line, new RegExp(`Redis at 127\\.0\\.0\\.1:${nobody} did not answer within 1500 ms`))
    assert.ok(Date.now() - started < 10_000)
  })

  test(`${kind}: a missing secret is one cannot-start line naming the variable`, async () => {
    const env = envFor(kind)
    if (kind === 'monitor') delete env.JWT_SECRET
    else delete env.SECRETS_KEY
    const line = await failedStart(kind, configFor(redis.port), env)
    assert.match(line, kind === 'monitor' ? /JWT_SECRET/ : /SECRETS_KEY/)
  })

  test(`${kind}: HTTP_HOST=127.0.0.1 binds loopback only; the default binds every interface`, async (t) => {
    for (const [host, hex] of [['127.0.0.1', '0100007F'], [undefined, '00000000']] as const) {
      const service = await spawnService(kind, kind, configFor(redis.port), { ...envFor(kind), ...(host && { HTTP_HOST: host }) })
      t.after(() => service.kill('SIGKILL'))
      assert.deepEqual(listeningAddresses(service.port), [hex], `bound address for HTTP_HOST=${host}`)
      const unknown = await fetch(`http://127.0.0.1:${service.port}/no-such-path`)
      assert.deepEqual([unknown.status, await unknown.json()], [404, { error: 'Not found', reason: 'not found' }], 'the error shape outside the API too')
      await service.kill('SIGTERM')
    }
  })

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`npm run ${kind}: ${signal} stops the service itself and frees its port`, { timeout: 60_000 }, async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'wf-npm-'))
      t.after(() => rmSync(dir, { recursive: true, force: true }))
      writeFileSync(join(dir, 'config.yaml'), stringify(configFor(redis.port)))
      const port = await freePort()
      // detached: npm leads its own process group, as a shell's foreground job does.
      const npm = spawn('npm', ['run', kind], {
        cwd: ROOT,
        detached: true,
        stdio: 'ignore',
        env: { ...process.env, ...envFor(kind), CONFIG_PATH: join(dir, 'config.yaml'), HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1' }
      })
      const exited = new Promise<number | null>(resolve => npm.once('exit', code => resolve(code)))
      t.after(() => { try { process.kill(-npm.pid!, 'SIGKILL') } catch {} })
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined))?.status === 200, { timeoutMs: 30_000, what: `${kind} /ready` })
      const node = descendants(npm.pid!).find(pid => commandOf(pid).includes(`services/${kind}/src/main.ts`))
      assert.ok(node, 'node runs under npm')
      // Ctrl-C in a terminal signals the whole foreground group; `kill PID` only npm itself.
      if (signal === 'SIGINT') process.kill(-npm.pid!, 'SIGINT')
      else process.kill(npm.pid!, 'SIGTERM')
      await Promise.race([exited, new Promise((_resolve, reject) => setTimeout(() => reject(new Error('npm did not exit')), 20_000))])
      await waitFor(() => !alive(node), { timeoutMs: 10_000, what: 'node to exit' })
      assert.deepEqual(listeningAddresses(port), [], 'the port is free')
    })
  }
}

/** Local addresses (hex, as /proc/net/tcp writes them) listening on `port`. */
function listeningAddresses (port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1).map(l => l.trim().split(/\s+/))
    .filter(f => f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A').map(f => f[1]!.split(':')[0]!)
}

function descendants (pid: number): number[] {
  const children = readdirSync('/proc').filter(n => /^\d+$/.test(n)).map(Number).filter(p => parentOf(p) === pid)
  return children.flatMap(c => [c, ...descendants(c)])
}

function parentOf (pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch { return undefined }
}

function commandOf (pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ') } catch { return '' }
}

function alive (pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch { return false }
}
