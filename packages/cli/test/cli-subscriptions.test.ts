import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { startS3, type S3TestServer } from '../../../test/support/s3.ts'
import { startReceiver, type Receiver } from '../../../test/support/receiver.ts'
import { spawnMonitor, sharedEnv, type MonitorProcess } from '../../../services/monitor/test/spawn-monitor.ts'
import { EXIT } from '../src/program.ts'
import { runCli } from './run-cli.ts'

// `watch-folder subscriptions ...` against a real monitor process (real redis-server, s3rver)
// and a real webhook receiver for `subscriptions test`.

const env = sharedEnv()
let redis: RedisServer
let s3: S3TestServer
let receiver: Receiver
let monitor: MonitorProcess
let home: string

before(async () => {
  [redis, s3, receiver] = await Promise.all([startRedis(), startS3(), startReceiver('/sub')])
  await s3.createBucket('sub-photos')
  monitor = await spawnMonitor({ redis: { host: '127.0.0.1', port: redis.port }, webhook: { allowed_networks: ['127.0.0.0/8'] }, api: { token_rate_limit: 1000 } }, env)
  home = mkdtempSync(join(tmpdir(), 'wf-cli-subs-'))
})
after(async () => {
  await monitor?.kill('SIGTERM')
  await Promise.all([redis?.stop(), s3?.stop(), receiver?.close()])
  rmSync(home, { recursive: true, force: true })
})

const cli = (args: string[], stdin = '') => runCli(args, {
  stdin,
  env: {
    HOME: home,
    WATCH_FOLDER_URL: `http://127.0.0.1:${monitor.port}`,
    WATCH_FOLDER_CLIENT_ID: env.API_CLIENT_ID!,
    WATCH_FOLDER_CLIENT_SECRET: env.API_CLIENT_SECRET!,
    WATCH_FOLDER_ACCESS_KEY: s3.accessKey,
    WATCH_FOLDER_SECRET_KEY: s3.secretKey
  }
})

test('subscriptions add, list, show, update, disable, enable, test and delete against the real API', async () => {
  assert.equal((await cli(['buckets', 'add', 'sub-photos', '--endpoint', s3.endpoint, '--webhook-url', receiver.url])).code, 0)
  const secret = `whsec_${Buffer.from('a signing secret of 24 b!').toString('base64')}`
  const add = await cli(['subscriptions', 'add', 'sub-photos', '--id', 'jpgs', '--webhook-url', receiver.url, '--events', 'created,updated', '--suffix', '.jpg', '--format', 's3', '--signing-secrets', '-', '-o', 'json'], `${secret}\n`)
  assert.equal(add.code, 0, add.stderr)
  assert.deepEqual([add.json().id, add.json().events, add.json().suffix, add.json().format, add.json().signing_secret_count], ['jpgs', ['created', 'updated'], '.jpg', 's3', 1])
  assert.ok(!add.stdout.includes(secret), 'no secret in the answer')
  const dup = await cli(['subscriptions', 'add', 'sub-photos', '--id', 'jpgs', '--webhook-url', receiver.url])
  assert.equal(dup.code, EXIT.conflict, dup.stderr)
  const bad = await cli(['subscriptions', 'add', 'sub-photos', '--webhook-url', 'ftp://x'])
  assert.equal(bad.code, EXIT.invalid)
  assert.match(bad.stderr, /webhook_url/)

  const list = await cli(['subscriptions', 'list', 'sub-photos', '-o', 'json'])
  assert.deepEqual(list.json().subscriptions.map((s: any) => s.id), ['default', 'jpgs'])
  const table = await cli(['subscriptions', 'list', 'sub-photos', '-o', 'table'])
  assert.match(table.stdout, /^ID\s+WEBHOOK_URL\s+EVENTS/)
  assert.match(table.stdout, /jpgs\s+http:\/\/127\.0\.0\.1:\d+\/sub\s+created,updated\s+s3/)
  const update = await cli(['subscriptions', 'update', 'sub-photos', 'jpgs', '--prefix', 'photos/', '-o', 'json'])
  assert.equal(update.json().prefix, 'photos/', update.stderr)
  assert.equal((await cli(['subscriptions', 'disable', 'sub-photos', 'jpgs', '-o', 'json'])).json().enabled, false)
  assert.equal((await cli(['subscriptions', 'show', 'sub-photos', 'jpgs', '-o', 'json'])).json().enabled, false)
  assert.equal((await cli(['subscriptions', 'enable', 'sub-photos', 'jpgs', '-o', 'json'])).json().enabled, true)

  const tested = await cli(['subscriptions', 'test', 'sub-photos', 'jpgs', '-o', 'json'])
  assert.equal(tested.code, 0, tested.stderr)
  assert.deepEqual([tested.json().delivered, tested.json().status], [true, 200])
  assert.ok(receiver.requests.some(r => JSON.stringify(r.json).includes('"test"')), 'the receiver got the test event')
  receiver.respond = (_req, res) => { res.statusCode = 503; res.end('down') }
  const down = await cli(['subscriptions', 'test', 'sub-photos', 'jpgs', '-o', 'json'])
  assert.equal(down.code, EXIT.notDelivered)
  assert.equal(down.json().status, 503)

  assert.equal((await cli(['subscriptions', 'delete', 'sub-photos', 'jpgs', '-o', 'json'])).code, 0)
  const gone = await cli(['subscriptions', 'show', 'sub-photos', 'jpgs'])
  assert.equal(gone.code, EXIT.notFound)
  assert.equal(gone.stderr.trim().split('\n').length, 1)
})
