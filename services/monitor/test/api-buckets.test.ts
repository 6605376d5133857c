import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { bucketSecretNames, secretName } from '@internal/buckets'
import { startApi, type Harness } from './api-harness.ts'
import { newProgress } from '../src/scan-context.ts'
import { progressFields } from '../src/scan-progress.ts'
import { startS3, type S3TestServer } from '../../../test/support/s3.ts'
import { waitFor } from '../../../test/support/ports.ts'

let h: Harness
let s3: S3TestServer
let write: Record<string, string>
let read: Record<string, string>

before(async () => {
  s3 = await startS3()
  h = await startApi({ lookup: async host => host === 'internal.example' ? ['10.1.2.3'] : host === 'hooks.example' ? ['93.184.216.34'] : ['127.0.0.1'] })
  write = { authorization: `Bearer ${await h.token('write')}` }
  read = { authorization: `Bearer ${await h.token('read')}` }
})
after(async () => { await h.close(); await s3.stop() })

const post = (url: string, payload?: unknown, headers = write) => h.app.inject({ method: 'POST', url, payload: payload as any, headers })
const get = (url: string) => h.app.inject({ method: 'GET', url, headers: read })
const seedBody = (name: string, extra: Record<string, unknown> = {}) => ({
  name, access_key: s3.accessKey, secret_key: s3.secretKey, region: s3.endpoint, webhook_url: 'http://127.0.0.1:9/hook', ...extra
})

/** Every key and value in Redis, hashes and lists expanded, as one string to search. */
async function redisDump (): Promise<string> {
  const parts: string[] = []
  for (const key of await h.redis.keys('*')) {
    const type = await h.redis.type(key)
    parts.push(key)
    if (type === 'string') parts.push(await h.redis.get(key) ?? '')
    if (type === 'hash') parts.push(JSON.stringify(await h.redis.hgetall(key)))
    if (type === 'list') parts.push(JSON.stringify(await h.redis.lrange(key, 0, -1)))
    if (type === 'zset') parts.push(JSON.stringify(await h.redis.zrange(key, 0, -1)))
  }
  return parts.join('\n')
}

test('add: the Python monitor\'s body -> 201 in its answer shape, config without secrets, secrets encrypted, every replica sees it', async () => {
  await s3.createBucket('photos-1')
  const res = await post('/api/buckets/add', seedBody('photos-1', { client_id: 'hook-client', client_secret: 'hook-secret-value', token_url: 'http://127.0.0.1:9/token', signing_secret: 'whsec_c2lnbmluZy1zZWNyZXQtdmFsdWU=' }))
  assert.equal(res.statusCode, 201, res.body)
  assert.deepEqual(res.json(), { status: 'success', message: 'Bucket photos-1 added to active configuration', bucket: 'photos-1', note: 'S3 credentials stored securely in vault' })
  const stored = JSON.parse(await h.redis.get(h.keys.bucketConfig('photos-1')) ?? '{}')
  assert.equal(stored.endpoint, s3.endpoint)
  assert.deepEqual(stored.webhook_auth, { type: 'oauth2', client_id: 'hook-client', token_url: 'http://127.0.0.1:9/token' })
  assert.equal(stored.has_signing_secret, true)
  assert.equal(await h.secrets.get(bucketSecretNames('photos-1').WEBHOOK_CLIENT_SECRET), 'hook-secret-value')
  const dump = await redisDump()
  for (const secret of ['hook-secret-value', 'whsec_c2lnbmluZy1zZWNyZXQtdmFsdWU=', 'c2lnbmluZy1zZWNyZXQtdmFsdWU']) assert.ok(!dump.includes(secret), `${secret} in Redis`)
  await waitFor(() => h.registry.get('photos-1') !== undefined, { timeoutMs: 1000, what: 'registry sees the new bucket' })
  const again = await post('/api/buckets/add', seedBody('photos-1'))
  assert.equal(again.statusCode, 409)
  assert.deepEqual(again.json(), { error: 'Bucket photos-1 already exists', reason: 'already exists' })
})

test('add: credentials S3 refuses -> 422 with the reason, nothing stored', async () => {
  await s3.createBucket('refused-1')
  const res = await post('/api/buckets/add', seedBody('refused-1', { access_key: 'WRONGKEY' }))
  assert.equal(res.statusCode, 422, res.body)
  assert.match(res.json().reason, /SignatureDoesNotMatch|InvalidAccessKeyId|403/)
  const missing = await post('/api/buckets/add', seedBody('not-created-1'))
  assert.equal(missing.statusCode, 422)
  assert.match(missing.json().reason, /NoSuchBucket/)
  assert.ok(!(await redisDump()).includes('refused-1'))
  assert.ok(!(await redisDump()).includes('REFUSED_1'))
})

test('add: bad input -> 400 naming the field and the reason, nothing stored', async () => {
  const cases: Array<[Record<string, unknown>, RegExp, string?]> = [
    [{ ...seedBody('x1-bucket'), access_key: undefined }, /^Missing required field: access_key$/, 'access_key'],
    [{ ...seedBody('x1-bucket'), name: undefined }, /^Missing required field: name$/, 'name'],
    [{ ...seedBody('x1-bucket'), region: undefined }, /Either 'region' or 'endpoint' field is required/],
    [{ ...seedBody('x1-bucket'), webhook_url: undefined }, /Missing required field: webhook_url/],
    [seedBody('x1-bucket', { colour: 'red' }), /^Unknown field: colour$/, 'colour'],
    [seedBody('Bad_Name'), /^Invalid field name: /, 'name'],
    [seedBody('x1-bucket', { webhook_url: 'ftp://example.com/x' }), /^Invalid field webhook_url: must be an http or https URL$/, 'webhook_url'],
    [seedBody('x1-bucket', { webhook_url: 'http://10.0.0.5/hook' }), /^Invalid field webhook_url: resolves to 10\.0\.0\.5/, 'webhook_url'],
    [seedBody('x1-bucket', { webhook_url: 'http://169.254.169.254/latest/meta-data' }), /link-local/, 'webhook_url'],
    [seedBody('x1-bucket', { webhook_url: 'http://internal.example/hook' }), /resolves to 10\.1\.2\.3/, 'webhook_url'],
    [seedBody('x1-bucket', { webhook_url: 'http://[::ffff:192.168.1.1]/hook' }), /resolves to/, 'webhook_url'],
    [seedBody('x1-bucket', { client_id: 'a', client_secret: 'b', token_url: 'http://192.168.0.1/token' }), /^Invalid field token_url/, 'token_url'],
    [seedBody('x1-bucket', { region: '10.0.0.7:9000' }), /^Invalid field endpoint/, 'endpoint'],
    [seedBody('x1-bucket', { webhook_url: 'http://user:pass@127.0.0.1:9/hook' }), /^Invalid field webhook_url: must not carry/, 'webhook_url'],
    [seedBody('x1-bucket', { webhook_url: 'https://hooks.example.com/a\r\nX-Injected: 1' }), /^Invalid field webhook_url: must not contain CR, LF or tab$/, 'webhook_url'],
    [seedBody('x1-bucket', { endpoint: 'https://s3.example.com/\n' }), /^Invalid field endpoint: must not contain CR, LF or tab$/, 'endpoint'],
    [seedBody('x1-bucket', { client_id: 'a', client_secret: 'b', token_url: 'https://auth.example.com/t\roken' }), /^Invalid field token_url: must not contain CR, LF or tab$/, 'token_url'],
    [seedBody('x1-bucket', { client_id: 'only-id' }), /must be given together/],
    [seedBody('x1-bucket', { polling_interval: -5 }), /^Invalid field polling_interval/, 'polling_interval'],
    [seedBody('x1-bucket', { include: 'not-a-list' }), /^Invalid field include/, 'include'],
    [seedBody('x1-bucket', { max_requests_per_second: 0 }), /^Invalid field max_requests_per_second/, 'max_requests_per_second'],
    [seedBody('x1-bucket', { max_requests_per_second: 2.5 }), /^Invalid field max_requests_per_second/, 'max_requests_per_second']
  ]
  for (const [body, error, field] of cases) {
    const res = await post('/api/buckets/add', body)
    assert.equal(res.statusCode, 400, `${JSON.stringify(body)} -> ${res.body}`)
    assert.match(res.json().error, error)
    assert.equal(typeof res.json().reason, 'string', 'every error answer has a reason')
    if (field) assert.equal(res.json().field, field)
  }
  const several = await post('/api/buckets/add', { name: 'x1-bucket', endpoint: 'http://127.0.0.1:9' })
  assert.equal(several.statusCode, 400)
  assert.deepEqual(several.json(), {
    error: 'Missing required fields: access_key, secret_key', field: 'access_key', fields: ['access_key', 'secret_key'], reason: 'required'
  }, 'every missing field is listed, not only the first')
  for (const raw of ['[1,2]', '"text"', 'null', '{"name": "abc",}']) {
    const res = await h.app.inject({ method: 'POST', url: '/api/buckets/add', payload: raw, headers: { ...write, 'content-type': 'application/json' } })
    assert.equal(res.statusCode, 400, raw)
  }
  const big = await post('/api/buckets/add', seedBody('x1-bucket', { secret_key: 'k'.repeat(70_000) }))
  assert.equal(big.statusCode, 413)
  assert.equal(await h.redis.exists(h.keys.bucketConfig('x1-bucket')), 0)
})

test('enable / disable: the Python monitor\'s flag key, shapes and errors', async () => {
  await s3.createBucket('toggle-1')
  assert.equal((await post('/api/buckets/add', seedBody('toggle-1'))).statusCode, 201)
  const off = await post('/api/bucket-notifications/disable?bucket=toggle-1')
  assert.deepEqual(off.json(), { status: 'success', bucket: 'toggle-1', notifications: 'disabled' })
  assert.equal(await h.redis.get(h.keys.notificationsDisabled('toggle-1')), 'true')
  await waitFor(() => h.registry.get('toggle-1')?.notifications_enabled === false, { timeoutMs: 1000, what: 'registry sees disable' })
  const on = await post('/api/bucket-notifications/enable?bucket=toggle-1', undefined)
  assert.deepEqual(on.json(), { status: 'success', bucket: 'toggle-1', notifications: 'enabled' })
  assert.equal(await h.redis.exists(h.keys.notificationsDisabled('toggle-1')), 0)
  const unknown = await post('/api/bucket-notifications/enable?bucket=nobody-here')
  assert.equal(unknown.statusCode, 404)
  assert.deepEqual(unknown.json(), { error: 'Bucket not found', reason: 'not found' })
  const missing = await post('/api/bucket-notifications/disable')
  assert.equal(missing.statusCode, 400)
  assert.deepEqual(missing.json(), { error: 'Missing bucket parameter', field: 'bucket', fields: ['bucket'], reason: 'required' })
  const withJson = await h.app.inject({ method: 'POST', url: '/api/bucket-notifications/disable?bucket=toggle-1', headers: { ...write, 'content-type': 'application/json' } })
  assert.equal(withJson.statusCode, 200, 'an empty JSON body on a query-only route is fine')
})

test('status: every bucket with switch, webhook, scan figures, last error, next scan and gone endpoints', async () => {
  await s3.createBucket('status-1')
  assert.equal((await post('/api/buckets/add', seedBody('status-1', { webhook_url: 'http://127.0.0.1:7/gone' }))).statusCode, 201)
  await h.redis.hset(h.keys.bucketStatus('status-1'), {
    last_scan_at: String(Date.parse('2026-11-22T00:59:00Z')),
    last_scan_duration_ms: '1234',
    objects_tracked: '42',
    events_created: '40',
    events_updated: '2',
    last_error: 'AccessDenied',
    last_error_at: String(Date.parse('2026-11-22T00:58:00Z')),
    next_scan_due: String(Date.parse('2026-11-22T01:00:00Z')),
    last_scan_outcome: 'error',
    scans_total: '3',
    consecutive_failures: '1',
    objects_listed: '42'
  })
  await h.redis.hset(h.keys.endpointStatus, 'http://127.0.0.1:7', JSON.stringify({ gone: true }))
  const res = await get('/api/bucket-notifications/status')
  assert.equal(res.statusCode, 200)
  const entry = res.json().buckets.find((b: { name: string }) => b.name === 'status-1')
  assert.deepEqual(entry, {
    name: 'status-1',
    notifications_enabled: true,
    webhook_url: 'http://127.0.0.1:7/gone',
    endpoint: s3.endpoint,
    last_scan_at: '2026-11-22T00:59:00.000Z',
    last_scan_duration_ms: 1234,
    last_scan_outcome: 'error',
    next_scan_due: '2026-11-22T01:00:00.000Z',
    objects_tracked: 42,
    objects_listed: 42,
    scans_total: 3,
    consecutive_failures: 1,
    events: { created: 40, updated: 2, detected: 0, deleted: 0 },
    last_error: 'AccessDenied',
    last_error_at: '2026-11-22T00:58:00.000Z',
    endpoint_gone: true,
    request_rate: 500,
    scan_progress: null
  })
  const one = await get('/api/buckets/status-1')
  assert.equal(one.json().status.objects_tracked, 42)
  // A scan under way writes its progress into the status hash, as the scanner's writer does.
  const progress = { ...newProgress(Date.parse('2026-11-22T01:00:00Z')), listed: 17000, pages: 17, rangesDone: 3, rangesTotal: 8 }
  await h.redis.hset(h.keys.bucketStatus('status-1'), ...progressFields(progress, Date.parse('2026-11-22T01:00:09Z')))
  assert.deepEqual((await get('/api/buckets/status-1')).json().status.scan_progress, {
    started_at: '2026-11-22T01:00:00.000Z', objects_listed: 17000, pages: 17, ranges_done: 3, ranges_total: 8, updated_at: '2026-11-22T01:00:09.000Z'
  })
  assert.equal((await get('/api/buckets/nobody-here')).statusCode, 404)
  assert.equal((await get('/api/buckets/Bad_Name')).statusCode, 400)
})

test('request budget: max_requests_per_second is stored on add, shown, changed by update, and the status shows the rate in force', async () => {
  await s3.createBucket('budget-1')
  assert.equal((await post('/api/buckets/add', seedBody('budget-1', { max_requests_per_second: 120 }))).statusCode, 201)
  const shown = (await get('/api/buckets/budget-1')).json()
  assert.equal(shown.bucket.max_requests_per_second, 120)
  assert.equal(shown.status.request_rate, 120)
  assert.equal((await post('/api/buckets/update', { name: 'budget-1', max_requests_per_second: 40 })).statusCode, 200)
  // A SlowDown halved the rate just now: the status shows the lowered rate, not the limit.
  await h.redis.hset(h.keys.requestRate('budget-1'), { rate: '20', lowered_at: String(Date.now()) })
  const after = (await get('/api/buckets/budget-1')).json()
  assert.equal(after.bucket.max_requests_per_second, 40)
  assert.ok(after.status.request_rate >= 20 && after.status.request_rate <= 21, String(after.status.request_rate))
})

test('fast lane: fast_interval is stored, shown, refused below half a second, and null switches it off', async () => {
  await s3.createBucket('fast-1')
  assert.equal((await post('/api/buckets/add', seedBody('fast-1', { fast_interval: 0.1 }))).json().field, 'fast_interval')
  assert.equal((await post('/api/buckets/add', seedBody('fast-1', { fast_interval: 5 }))).statusCode, 201)
  assert.equal((await get('/api/buckets/fast-1')).json().bucket.fast_interval, 5)
  assert.equal((await post('/api/buckets/update', { name: 'fast-1', fast_interval: null })).statusCode, 200)
  assert.equal((await get('/api/buckets/fast-1')).json().bucket.fast_interval, undefined)
})

test('update: exists check before secrets, rotation checked against S3, version bumped, token_url kept', async () => {
  await s3.createBucket('rotate-1')
  assert.equal((await post('/api/buckets/add', seedBody('rotate-1', { client_id: 'c1', client_secret: 'first-client-secret', token_url: 'http://127.0.0.1:9/token' }))).statusCode, 201)
  const names = bucketSecretNames('rotate-1')
  const ghost = await post('/api/buckets/update', { name: 'ghost-bucket', access_key: 'a', secret_key: 'b' })
  assert.equal(ghost.statusCode, 404)
  assert.deepEqual(ghost.json(), { error: 'Bucket ghost-bucket not found', reason: 'not found' })
  assert.equal(await h.secrets.get(secretName('ghost-bucket', 'ACCESS_KEY')), undefined, 'no secret written for a missing bucket')
  const half = await post('/api/buckets/update', { name: 'rotate-1', access_key: 'only-one' })
  assert.deepEqual(half.json(), { error: 'Both access_key and secret_key must be provided when updating credentials', reason: 'invalid request', field: 'secret_key' })
  const refused = await post('/api/buckets/update', { name: 'rotate-1', access_key: 'NEWKEY', secret_key: 'NEWSECRET' })
  assert.equal(refused.statusCode, 422)
  assert.equal(await h.secrets.get(names.ACCESS_KEY), s3.accessKey, 'refused rotation leaves the old key')
  const before = JSON.parse(await h.redis.get(h.keys.bucketConfig('rotate-1')) ?? '{}')
  const ok = await post('/api/buckets/update', { name: 'rotate-1', access_key: s3.accessKey, secret_key: s3.secretKey })
  assert.deepEqual(ok.json(), { status: 'success', message: 'Bucket rotate-1 updated', note: 'S3 credentials updated in vault' })
  const after = JSON.parse(await h.redis.get(h.keys.bucketConfig('rotate-1')) ?? '{}')
  assert.equal(after.credentials_version, (before.credentials_version ?? 0) + 1)
  assert.ok(after.updated_at)
  const oauth = await post('/api/buckets/update', { name: 'rotate-1', client_id: 'c2', client_secret: 'second-client-secret' })
  assert.equal(oauth.statusCode, 200, oauth.body)
  const stored = JSON.parse(await h.redis.get(h.keys.bucketConfig('rotate-1')) ?? '{}')
  assert.deepEqual(stored.webhook_auth, { type: 'oauth2', client_id: 'c2', token_url: 'http://127.0.0.1:9/token' })
  assert.equal(await h.secrets.get(names.WEBHOOK_CLIENT_SECRET), 'second-client-secret')
  const hook = await post('/api/buckets/update', { name: 'rotate-1', webhook_url: 'http://127.0.0.1:10/new', include: ['*.jpg'], notifications_enabled: false })
  assert.equal(hook.statusCode, 200)
  await waitFor(() => h.registry.get('rotate-1')?.webhook_url === 'http://127.0.0.1:10/new', { timeoutMs: 1000, what: 'registry sees the new webhook' })
  assert.equal(h.registry.get('rotate-1')?.notifications_enabled, false)
  assert.deepEqual(h.registry.get('rotate-1')?.include, ['*.jpg'])
  assert.equal((await post('/api/buckets/update', { name: 'rotate-1', webhook_url: 'http://10.0.0.1/x' })).json().field, 'webhook_url')
  assert.equal((await post('/api/buckets/update', { name: 'rotate-1', token_url: 'http://192.168.1.1/t' })).json().field, 'token_url')
  assert.equal((await post('/api/buckets/update', { name: 'rotate-1' })).statusCode, 400)
  assert.equal((await post('/api/buckets/update', { name: 'rotate-1', webhook_url: null })).json().field, 'webhook_url')
  assert.equal((await post('/api/buckets/update', { name: 'rotate-1', region: 'a.example', endpoint: 'b.example' })).json().field, 'endpoint')
  assert.equal((await post('/api/buckets/update', { name: 'rotate-1', colour: 'red' })).json().error, 'Unknown field: colour')
  const removed = await post('/api/buckets/update', { name: 'rotate-1', webhook_auth: null })
  assert.equal(removed.statusCode, 200)
  assert.equal(await h.secrets.get(names.WEBHOOK_CLIENT_SECRET), undefined)
})

test('update: an OAuth update without token_url on a bucket that has none is refused', async () => {
  await s3.createBucket('plain-1')
  assert.equal((await post('/api/buckets/add', seedBody('plain-1'))).statusCode, 201)
  const res = await post('/api/buckets/update', { name: 'plain-1', client_id: 'c', client_secret: 's' })
  assert.equal(res.statusCode, 400)
  assert.equal(res.json().field, 'token_url')
})

test('list and show never contain a secret', async () => {
  const res = await get('/api/buckets')
  assert.equal(res.statusCode, 200)
  assert.ok(res.json().buckets.length >= 1)
  for (const text of [res.body, (await get('/api/buckets/photos-1')).body, (await get('/api/bucket-notifications/status')).body]) {
    for (const secret of [s3.secretKey, 'hook-secret-value', 'second-client-secret', 'whsec_']) assert.ok(!text.includes(secret), secret)
  }
})

test('resync: 202, forwarded to the scanner with forget, 404 for an unknown bucket', async () => {
  assert.equal((await post('/api/buckets/photos-1/resync')).statusCode, 202)
  assert.equal((await post('/api/buckets/photos-1/resync?forget=true')).statusCode, 202)
  assert.equal((await post('/api/buckets/photos-1/resync', { forget: true })).json().forget, true)
  assert.deepEqual(h.resyncs, [{ bucket: 'photos-1', forget: false }, { bucket: 'photos-1', forget: true }, { bucket: 'photos-1', forget: true }])
  assert.equal((await post('/api/buckets/nobody-here/resync')).statusCode, 404)
  assert.equal((await post('/api/buckets/photos-1/resync?forget=maybe')).statusCode, 400)
})

test('delete: secrets, config, switch, schedule, state, status and the Python monitor\'s per-object strings; then Redis holds nothing of it', async () => {
  await s3.createBucket('doomed-1')
  assert.equal((await post('/api/buckets/add', seedBody('doomed-1', { signing_secret: 'a-signing-secret-1234' }))).statusCode, 201)
  await post('/api/bucket-notifications/disable?bucket=doomed-1')
  await h.redis.hset(h.keys.objectState('doomed-1'), 'a.txt', 'fp')
  await h.redis.hset(h.keys.bucketStatus('doomed-1'), 'objects_tracked', '1')
  await h.redis.set(h.keys.lastScan('doomed-1'), '1700000000')
  await h.redis.zadd(h.keys.schedule, 1, 'doomed-1')
  await h.redis.zadd(h.keys.requestGrants('doomed-1'), Date.now(), 'replica.1:5')
  await h.redis.hset(h.keys.requestRate('doomed-1'), { rate: '10', lowered_at: String(Date.now()) })
  await h.redis.hset(h.keys.subscriptionState('doomed-1', 'default'), 'state', 'disabled', 'reason', 'gone')
  await h.redis.rpush(h.keys.parked('doomed-1', 'default'), '{"bucket":"doomed-1"}')
  for (let i = 0; i < 30; i++) await h.redis.set(`${h.config.redis.state_prefix}doomed-1:dir/obj-${i}`, '{"etag":"x"}')
  await h.redis.set(`${h.config.redis.state_prefix}doomed-10:keep`, '{"etag":"x"}')
  assert.equal((await post('/api/buckets/delete')).statusCode, 400)
  const unknown = await post('/api/buckets/delete?bucket=nobody-here')
  assert.equal(unknown.statusCode, 404)
  assert.deepEqual(unknown.json(), { error: 'Bucket not found', reason: 'not found' })
  const res = await post('/api/buckets/delete?bucket=doomed-1')
  assert.deepEqual(res.json(), { status: 'success', message: 'Bucket doomed-1 deleted completely' })
  const dump = await redisDump()
  assert.ok(!/doomed-1(?!0)/.test(dump), 'a key or value still names the bucket')
  assert.ok(!dump.includes('DOOMED_1'), 'a secret of the bucket is left')
  assert.equal(await h.redis.exists(`${h.config.redis.state_prefix}doomed-10:keep`), 1, 'another bucket with a longer name is untouched')
  await waitFor(() => h.registry.get('doomed-1') === undefined, { timeoutMs: 1000, what: 'registry drops the bucket' })
})

test('unknown API paths answer 404 in the error shape', async () => {
  const res = await get('/api/nothing-here')
  assert.equal(res.statusCode, 404)
  assert.deepEqual(res.json(), { error: 'Not found', reason: 'not found' })
})

test('buckets from the config file follow the same network rule', async () => {
  const { checkConfiguredBucketNetworks } = await import('../src/api/index.ts')
  const config = {
    ...h.config,
    webhook: { ...h.config.webhook, allowed_networks: [] },
    buckets: [
      { name: 'file-ok', access_key: 'a', secret_key: 'b', endpoint: 'us-east-1.linodeobjects.com', webhook_url: 'https://hooks.example/x' },
      { name: 'file-bad', access_key: 'a', secret_key: 'b', endpoint: 'http://127.0.0.1:9000', webhook_url: 'http://169.254.169.254/x' }
    ]
  }
  const problems = await checkConfiguredBucketNetworks(config, async host => host === 'hooks.example' || host.endsWith('linodeobjects.com') ? ['93.184.216.34'] : ['10.0.0.1'])
  assert.equal(problems.length, 2)
  assert.match(problems[0]!, /^buckets\[1\] \(file-bad\)\.endpoint: resolves to 127\.0\.0\.1/)
  assert.match(problems[1]!, /^buckets\[1\] \(file-bad\)\.webhook_url: resolves to 169\.254\.169\.254/)
})

test('the credential check connects only to allowed addresses, whatever DNS says at connect time', async () => {
  const { createCredentialCheck } = await import('../src/api/index.ts')
  const { createNetworkPolicy } = await import('@internal/buckets')
  const input = { bucket: 'photos-1', endpoint: `http://localhost:${new URL(s3.endpoint).port}`, accessKey: s3.accessKey, secretKey: s3.secretKey, signingRegion: 'us-east-1' }
  assert.deepEqual(await createCredentialCheck({ policy: createNetworkPolicy(['127.0.0.0/8', '::1/128']) })(input), { ok: true })
  const refused = await createCredentialCheck({ policy: createNetworkPolicy([]), timeoutMs: 3000 })(input)
  assert.equal(refused.ok, false)
  assert.match((refused as { reason: string }).reason, /allowed_networks|EADDRNOTALLOWED/)
})
