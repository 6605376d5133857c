import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { startS3, type S3TestServer } from '../../../test/support/s3.ts'
import { freePort } from '../../../test/support/ports.ts'
import { spawnMonitor, sharedEnv, type MonitorProcess } from '../../../services/monitor/test/spawn-monitor.ts'
import { buildProgram, run, EXIT } from '../src/program.ts'
import { runCli, type Ran } from './run-cli.ts'

// `watch-folder` as a user runs it: a child process per command, against a real monitor
// process on loopback (real redis-server, s3rver over HTTP), its config in a temporary
// XDG_CONFIG_HOME.

const DEAD = 'cli-test:dead'
const env = sharedEnv()
let redisServer: RedisServer
let redis: Redis
let s3: S3TestServer
let monitor: MonitorProcess
let url: string
let home: string

before(async () => {
  [redisServer, s3] = await Promise.all([startRedis(), startS3()])
  redis = redisServer.client()
  await s3.createBucket('cli-photos')
  monitor = await spawnMonitor({
    defaults: { polling_interval: 1 },
    redis: { host: '127.0.0.1', port: redisServer.port, dead_letter_queue: DEAD },
    webhook: { allowed_networks: ['127.0.0.0/8'] },
    api: { token_rate_limit: 1000 }
  }, env)
  url = `http://127.0.0.1:${monitor.port}`
  home = mkdtempSync(join(tmpdir(), 'wf-cli-home-'))
})
after(async () => {
  await monitor?.kill('SIGTERM')
  redis?.disconnect()
  await Promise.all([redisServer?.stop(), s3?.stop()])
  rmSync(home, { recursive: true, force: true })
})

/** The CLI with this test's HOME and XDG_CONFIG_HOME. */
const cli = (args: string[], opts: { env?: Record<string, string>, stdin?: string } = {}) =>
  runCli(args, { stdin: opts.stdin, env: { HOME: home, XDG_CONFIG_HOME: join(home, 'xdg'), ...opts.env } })

const sessionPath = () => join(home, 'xdg', 'watch-folder', 'credentials.json')
const session = () => JSON.parse(readFileSync(sessionPath(), 'utf8'))
const oneLine = (r: Ran) => { assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr); return r.stderr.trim() }

test('login: a wrong secret is exit 3 and one line; the right one (from stdin) caches the token with 0600 under XDG_CONFIG_HOME', async () => {
  const wrong = await cli(['login', '--url', url, '--client-id', env.API_CLIENT_ID!, '--client-secret', '-'], { stdin: 'not-the-secret\n' })
  assert.equal(wrong.code, EXIT.auth)
  assert.match(oneLine(wrong), /^watch-folder: invalid_client: unknown client or wrong secret \[HTTP 401\]$/)
  const missing = await cli(['login', '--url', url, '--client-id', env.API_CLIENT_ID!])
  assert.equal(missing.code, EXIT.usage)
  assert.match(oneLine(missing), /--client-secret is required/)

  const ok = await cli(['login', '--url', url, '--client-id', env.API_CLIENT_ID!, '--client-secret', '-', '--output', 'json'], { stdin: `${env.API_CLIENT_SECRET}\n` })
  assert.equal(ok.code, 0, ok.stderr)
  assert.equal(ok.json().status, 'logged in')
  assert.equal(ok.json().scope, 'read write')
  assert.equal(statSync(sessionPath()).mode & 0o777, 0o600)
  assert.equal(statSync(join(home, 'xdg', 'watch-folder')).mode & 0o777, 0o700)
  assert.ok(session().access_token.split('.').length === 3)
  assert.ok(!ok.stdout.includes(env.API_CLIENT_SECRET!), 'the secret is never printed')
})

test('buckets: add (secrets from env), list, show, update, disable, enable, resync with progress, replay, delete; exit codes per failure', async () => {
  const keys = { WATCH_FOLDER_ACCESS_KEY: s3.accessKey, WATCH_FOLDER_SECRET_KEY: s3.secretKey }
  const add = await cli(['buckets', 'add', 'cli-photos', '--endpoint', s3.endpoint, '--webhook-url', 'http://127.0.0.1:9/hook', '--include', '*.jpg,*.png', '-o', 'json'], { env: keys })
  assert.equal(add.code, 0, add.stderr)
  assert.equal(add.json().status, 'success')
  const again = await cli(['buckets', 'add', 'cli-photos', '--endpoint', s3.endpoint, '--webhook-url', 'http://127.0.0.1:9/hook'], { env: keys })
  assert.equal(again.code, EXIT.conflict)
  assert.match(oneLine(again), /Bucket cli-photos already exists \[HTTP 409\]/)
  const noKeys = await cli(['buckets', 'add', 'other-bucket', '--endpoint', s3.endpoint])
  assert.equal(noKeys.code, EXIT.invalid)
  assert.match(oneLine(noKeys), /^watch-folder: Missing required fields: access_key, secret_key \[HTTP 400\]$/)
  const badValue = await cli(['buckets', 'add', 'other-bucket', '--endpoint', s3.endpoint, '--polling-interval', '-3'], { env: keys })
  assert.equal(badValue.code, EXIT.invalid)
  assert.match(oneLine(badValue), /polling_interval/)
  assert.equal((await cli(['buckets', 'add', 'x', '--first-scan', 'never'])).code, EXIT.usage)

  const list = await cli(['buckets', 'list', '-o', 'json'])
  assert.deepEqual(list.json().buckets.map((b: any) => b.name), ['cli-photos'])
  const table = await cli(['buckets', 'list', '--output', 'table'])
  assert.match(table.stdout, /^NAME\s+ENDPOINT\s+WEBHOOK_URL/)
  assert.match(table.stdout, /cli-photos\s+http:\/\/127\.0\.0\.1/)
  assert.ok(!list.stdout.includes(s3.secretKey) || s3.secretKey === 'S3RVER', 'no secret in an answer')

  const update = await cli(['buckets', 'update', 'cli-photos', '--webhook-url', 'http://127.0.0.1:10/hook', '-o', 'json'])
  assert.equal(update.code, 0, update.stderr)
  const show = await cli(['buckets', 'show', 'cli-photos', '-o', 'json'])
  assert.equal(show.json().bucket.webhook_url, 'http://127.0.0.1:10/hook')
  assert.deepEqual(show.json().bucket.include, ['*.jpg', '*.png'])
  assert.equal((await cli(['buckets', 'disable', 'cli-photos', '-o', 'json'])).json().notifications, 'disabled')
  assert.equal((await cli(['buckets', 'show', 'cli-photos', '-o', 'json'])).json().bucket.notifications_enabled, false)
  assert.equal((await cli(['buckets', 'enable', 'cli-photos', '-o', 'json'])).json().notifications, 'enabled')

  await s3.put('cli-photos', 'a.jpg', 'one')
  await s3.put('cli-photos', 'b.png', 'two')
  const resync = await cli(['buckets', 'resync', 'cli-photos', '--forget', '-o', 'json'])
  assert.equal(resync.code, 0, resync.stderr)
  assert.match(resync.stderr, /resync cli-photos: ok, 2 objects listed of 2 tracked in \d+ ms/)
  assert.equal(resync.json().objects_tracked, 2)
  const noWait = await cli(['buckets', 'resync', 'cli-photos', '--no-wait', '-o', 'json'])
  assert.equal(noWait.json().status, 'success')

  const replayed = await cli(['buckets', 'replay', 'cli-photos', '--prefix', 'a', '--since', '0', '--until', '2100-01-01T00:00:00Z', '-o', 'json'])
  assert.equal(replayed.code, 0, replayed.stderr)
  assert.deepEqual(replayed.json(), { count: 1 })
  const badTime = await cli(['buckets', 'replay', 'cli-photos', '--since', 'last tuesday'])
  assert.equal(badTime.code, EXIT.invalid)
  assert.match(oneLine(badTime), /^watch-folder: Invalid field since: must be an ISO 8601 date-time .* \[HTTP 400\]$/)
  const noSub = await cli(['buckets', 'replay', 'cli-photos', '--subscription', 'nobody'])
  assert.equal(noSub.code, EXIT.notFound)
  assert.match(oneLine(noSub), /Subscription nobody not found in bucket cli-photos \(field: subscription\) \[HTTP 404\]/)

  assert.equal((await cli(['buckets', 'delete', 'cli-photos', '-o', 'json'])).json().status, 'success')
  const gone = await cli(['buckets', 'show', 'cli-photos'])
  assert.equal(gone.code, EXIT.notFound)
  assert.match(oneLine(gone), /^watch-folder: Bucket cli-photos not found \[HTTP 404\]$/)
})

test('an expired cached token is refreshed, and so is one the API refuses', async () => {
  const before = session()
  writeFileSync(sessionPath(), JSON.stringify({ ...before, expires_at: Date.now() - 1000 }))
  const refreshed = await cli(['buckets', 'list', '-o', 'json'])
  assert.equal(refreshed.code, 0, refreshed.stderr)
  assert.notEqual(session().access_token, before.access_token, 'a new token was cached')
  assert.ok(session().expires_at > Date.now())
  assert.equal(statSync(sessionPath()).mode & 0o777, 0o600)

  writeFileSync(sessionPath(), JSON.stringify({ ...session(), access_token: 'revoked.by.rotation' }), { mode: 0o600 })
  const retried = await cli(['dead-letters', 'list', '-o', 'json'])
  assert.equal(retried.code, 0, retried.stderr)
  assert.notEqual(session().access_token, 'revoked.by.rotation')
})

test('dead-letters list, show, replay and purge', async () => {
  const record = (id: string) => JSON.stringify({ id, reason: 'HTTP 500', attempts: 4, last_status: 500, response_excerpt: 'down', dead_at: new Date().toISOString(), event: { bucket: 'b', key: `k-${id}`, event_type: 'created', event_id: `evt-${id}` } })
  await redis.lpush(DEAD, record('dl-1'), record('dl-2'), record('dl-3'))
  const list = await cli(['dead-letters', 'list', '-o', 'json'])
  assert.equal(list.json().total, 3)
  const table = await cli(['dead-letters', 'list', '-o', 'table', '--limit', '2'])
  assert.equal(table.stdout.trim().split('\n').length, 3, table.stdout)
  assert.equal((await cli(['dead-letters', 'show', 'dl-2', '-o', 'json'])).json().event.key, 'k-dl-2')
  const unknown = await cli(['dead-letters', 'show', 'nope'])
  assert.equal(unknown.code, EXIT.notFound)
  assert.equal((await cli(['dead-letters', 'replay', 'dl-1', '-o', 'json'])).json().count, 1)
  assert.equal((await cli(['dead-letters', 'purge', 'dl-2', '-o', 'json'])).json().count, 1)
  assert.equal((await cli(['dead-letters', 'replay'])).code, EXIT.usage, 'neither ids nor --all')
  assert.equal((await cli(['dead-letters', 'purge', '--all', '-o', 'json'])).json().count, 1)
  assert.equal(await redis.llen(DEAD), 0)
})

test('without a session, or with the API down, the exit code says which', async () => {
  const fresh = await cli(['buckets', 'list'], { env: { XDG_CONFIG_HOME: join(home, 'nobody') } })
  assert.equal(fresh.code, EXIT.auth)
  assert.match(oneLine(fresh), /not logged in/)
  const byEnv = await cli(['buckets', 'list', '-o', 'json'], { env: { XDG_CONFIG_HOME: join(home, 'nobody'), WATCH_FOLDER_URL: url, WATCH_FOLDER_CLIENT_ID: env.API_CLIENT_ID!, WATCH_FOLDER_CLIENT_SECRET: env.API_CLIENT_SECRET! } })
  assert.equal(byEnv.code, 0, byEnv.stderr)
  const nobody = await freePort()
  const down = await cli(['buckets', 'list'], { env: { WATCH_FOLDER_URL: `http://127.0.0.1:${nobody}` } })
  assert.equal(down.code, EXIT.unavailable)
  assert.equal(oneLine(down), `watch-folder: cannot reach http://127.0.0.1:${nobody}: ECONNREFUSED`)
  // An unknown event is the API's own 404, not a missing route (test/history-process.test.ts runs show and tail).
  const unknownEvent = await cli(['events', 'show', 'evt-1'])
  assert.equal(unknownEvent.code, EXIT.notFound)
  assert.equal(oneLine(unknownEvent), 'watch-folder: Event evt-1 not found (unknown, or its history expired) [HTTP 404]')
  const typo = await cli(['buckets', 'lst'])
  assert.equal(typo.code, EXIT.usage)
})

test('--help works for every command, and says the exit codes', async () => {
  const out: string[] = []
  const io = { env: {}, stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => out.push(s) }, readStdin: async () => [], now: Date.now, signal: new AbortController().signal }
  const paths: string[][] = []
  const walk = (cmd: ReturnType<typeof buildProgram>, path: string[]) => { paths.push(path); for (const sub of cmd.commands) if (sub.name() !== 'help') walk(sub, [...path, sub.name()]) }
  walk(buildProgram(io), [])
  assert.equal(paths.length, 29, 'the program, login, and buckets, subscriptions, dead-letters and events with their commands')
  for (const path of paths) {
    out.length = 0
    assert.equal(await run([...path, '--help'], io), 0, path.join(' '))
    assert.match(out.join(''), /^Usage: watch-folder/, path.join(' '))
  }
  out.length = 0
  await run(['--help'], io)
  assert.match(out.join(''), /Exit codes:[\s\S]*6 {2}the API refused the input/)
})
