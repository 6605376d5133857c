import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EXIT } from '../src/program.ts'
import { runCli } from './run-cli.ts'
import { waitFor } from '../../../test/support/ports.ts'

// The commands whose routes the monitor does not serve yet, against an HTTP server on
// loopback that answers as the documented contracts say: subscriptions under
// /api/buckets/{name}/subscriptions, GET /api/events/{id} and the GET /api/activity event
// stream. It records every request, so the test checks what the CLI sends.

interface Seen { method: string, url: string, body: any, auth: string | undefined }
const seen: Seen[] = []
let server: Server
let url: string
let home: string
const activity: Array<(chunk: string) => void> = []

async function bodyOf (req: IncomingMessage): Promise<any> {
  let text = ''
  for await (const chunk of req) text += String(chunk)
  try { return text ? JSON.parse(text) : undefined } catch { return text }
}

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'wf-cli-contract-'))
  server = createServer(async (req, res) => {
    const body = await bodyOf(req)
    seen.push({ method: req.method!, url: req.url!, body, auth: req.headers.authorization })
    const json = (status: number, value: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value)) }
    const path = req.url!.split('?')[0]!
    if (path === '/api/auth/token') return json(200, { access_token: 'contract-token', token_type: 'Bearer', expires_in: 3600, scope: 'read write' })
    if (path === '/api/activity') {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(': connected\n\n')
      activity.push(chunk => res.write(chunk))
      return
    }
    if (path === '/api/events/on-an-old-monitor') return json(404, { error: 'Not found', reason: 'not found' }) // as a monitor without the route answers
    if (path === '/api/events/evt-1') {
      return json(200, { event: { event_id: 'evt-1', bucket: 'b', key: 'a.jpg', event_type: 'created' }, deliveries: [{ subscription: 'default', state: 'delivered', attempts: [{ at: '2026-12-01T10:00:00Z', status: 500, duration_ms: 12, error: 'HTTP 500' }, { at: '2026-12-01T10:00:05Z', status: 200, duration_ms: 9, error: null }] }] })
    }
    if (path.endsWith('/test')) return json(200, path.includes('/down/') ? { delivered: false, status: 503, duration_ms: 4, error: 'HTTP 503' } : { delivered: true, status: 200, duration_ms: 3 })
    if (req.method === 'POST' && path === '/api/buckets/b/subscriptions') return json(201, { id: body.id ?? 'generated-1', ...body, signing_secrets: undefined })
    if (req.method === 'GET' && path === '/api/buckets/b/subscriptions') return json(200, { subscriptions: [{ id: 'default', webhook_url: 'http://h/a', events: ['created'], format: 'original', enabled: true, state: 'active' }] })
    if (path === '/api/buckets/b/subscriptions/ghost') return json(404, { error: 'Subscription ghost not found', reason: 'not found' })
    if (req.method === 'DELETE') { res.writeHead(204).end(); return }
    return json(200, { id: path.split('/').at(-1), state: 'active' })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
after(async () => {
  server.closeAllConnections()
  server.close()
  rmSync(home, { recursive: true, force: true })
})

const cli = (args: string[], stdin = '') => runCli(args, {
  stdin,
  env: { HOME: home, WATCH_FOLDER_URL: url, WATCH_FOLDER_CLIENT_ID: 'id', WATCH_FOLDER_CLIENT_SECRET: 'secret', WATCH_FOLDER_SIGNING_SECRETS: 'whsec_one,whsec_two' }
})
const last = (method: string) => seen.filter(s => s.method === method).at(-1)!

test('subscriptions: every command sends the documented request', async () => {
  const add = await cli(['subscriptions', 'add', 'b', '--id', 'jpgs', '--webhook-url', 'http://h/jpg', '--events', 'created,updated', '--suffix', '.jpg', '--format', 's3',
    '--webhook-auth-client-id', 'c', '--webhook-auth-client-secret', '-', '--webhook-auth-token-url', 'http://h/token', '-o', 'json'], 'oauth-secret\n')
  assert.equal(add.code, 0, add.stderr)
  assert.deepEqual(last('POST').body, {
    id: 'jpgs',
    webhook_url: 'http://h/jpg',
    events: ['created', 'updated'],
    suffix: '.jpg',
    format: 's3',
    webhook_auth: { type: 'oauth2', client_id: 'c', client_secret: 'oauth-secret', token_url: 'http://h/token' },
    signing_secrets: ['whsec_one', 'whsec_two']
  })
  assert.equal(last('POST').url, '/api/buckets/b/subscriptions')
  assert.equal(last('POST').auth, 'Bearer contract-token')
  assert.equal((await cli(['subscriptions', 'add', 'b', '--webhook-url', 'http://h', '--events', 'copied'])).code, EXIT.usage)

  const list = await cli(['subscriptions', 'list', 'b', '-o', 'table'])
  assert.match(list.stdout, /^ID\s+WEBHOOK_URL\s+EVENTS/)
  assert.match(list.stdout, /default\s+http:\/\/h\/a\s+created/)
  await cli(['subscriptions', 'update', 'b', 'jpgs', '--prefix', 'photos/', '--enabled', 'false'])
  assert.deepEqual([last('PATCH').url, last('PATCH').body], ['/api/buckets/b/subscriptions/jpgs', { prefix: 'photos/', enabled: false }])
  await cli(['subscriptions', 'update', 'b', 'jpgs', '--retry-schedule', '5,60,3600'])
  assert.deepEqual(last('PATCH').body, { retry_schedule: [5, 60, 3600] })
  assert.equal((await cli(['subscriptions', 'update', 'b', 'jpgs', '--retry-schedule', '5,soon'])).code, EXIT.usage)
  await cli(['subscriptions', 'show', 'b', 'jpgs'])
  assert.equal(last('GET').url, '/api/buckets/b/subscriptions/jpgs')
  for (const verb of ['enable', 'disable']) {
    await cli(['subscriptions', verb, 'b', 'jpgs'])
    assert.equal(last('POST').url, `/api/buckets/b/subscriptions/jpgs/${verb}`)
  }
  const del = await cli(['subscriptions', 'delete', 'b', 'jpgs', '-o', 'json'])
  assert.equal(del.code, 0, del.stderr)
  assert.equal(last('DELETE').url, '/api/buckets/b/subscriptions/jpgs')
  const tested = await cli(['subscriptions', 'test', 'b', 'jpgs', '-o', 'json'])
  assert.equal(tested.code, 0)
  assert.equal(JSON.parse(tested.stdout).status, 200)
  const down = await cli(['subscriptions', 'test', 'down', 'x', '-o', 'json'])
  assert.equal(down.code, EXIT.notDelivered)
  assert.match(down.stderr, /test event not delivered: HTTP 503/)
  const ghost = await cli(['subscriptions', 'show', 'b', 'ghost'])
  assert.equal(ghost.code, EXIT.notFound)
  assert.equal(ghost.stderr.trim(), 'watch-folder: Subscription ghost not found [HTTP 404]')
})

test('events show prints every attempt; events tail prints one line per event until Ctrl-C', async () => {
  const show = await cli(['events', 'show', 'evt-1', '-o', 'table'])
  assert.equal(show.code, 0, show.stderr)
  assert.match(show.stdout, /default: delivered\nAT\s+STATUS\s+DURATION_MS\s+ERROR\n2026-12-01T10:00:00Z\s+500\s+12\s+HTTP 500/)

  const old = await cli(['events', 'show', 'on-an-old-monitor'])
  assert.equal(old.code, EXIT.notFound)
  assert.equal(old.stderr.trim(), 'watch-folder: this monitor does not serve GET /api/events/{id} (a version without delivery history and the activity stream)')

  const tail = cli(['events', 'tail', '--bucket', 'b', '--subscription', 'jpgs', '-o', 'table'])
  await waitFor(() => activity.length > 0, { what: 'the stream to open' })
  assert.equal(last('GET').url, '/api/activity?bucket=b&subscription=jpgs')
  const send = activity.at(-1)!
  send('event: heartbeat\ndata: {}\n\n')
  send('event: detection\ndata: {"at":"2026-12-01T10:00:00.000Z","bucket":"b","key":"a.jpg","type":"created"}\n\n')
  send('event: attempt\ndata: {"at":"2026-12-01T10:00:00.050Z","bucket":"b","key":"a.jpg","type":"delivered","subscription":"jpgs","status":200,"latency_ms":48}\n\n')
  let output = ''
  tail.child.stdout!.on('data', d => { output += d })
  await waitFor(() => output.split('\n').length >= 3, { what: 'two lines' })
  tail.child.kill('SIGINT')
  const { code } = await tail
  assert.equal(code, 0)
  assert.deepEqual(output.trim().split('\n'), [
    '2026-12-01T10:00:00.000Z  created    b/a.jpg',
    '2026-12-01T10:00:00.050Z  delivered  b/a.jpg  sub=jpgs  status=200  48 ms'
  ])
})
