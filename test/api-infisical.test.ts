import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createKeys } from '@internal/redis'
import { createCachedSecretStore, createInfisicalSecretStore, createSecretStore, infisicalOptions } from '@internal/buckets'
import { startFakeInfisical, type FakeInfisical } from './support/fake-infisical.ts'
import { startRedis, type RedisServer } from './support/redis-server.ts'

let fake: FakeInfisical
let redis: RedisServer
const keys = createKeys({ queueName: 'q', deadLetterName: 'd', statePrefix: 'linode:objstore:state:' })

before(async () => { fake = await startFakeInfisical(); redis = await startRedis() })
after(async () => { fake.release(); await fake.close(); await redis.stop() })

const tokenStore = () => createInfisicalSecretStore({ siteUrl: fake.url, projectId: 'proj', environment: 'dev', auth: { accessToken: fake.serviceToken } })

test('create is POST, update is PATCH, delete tolerates 404, a missing secret reads undefined', async () => {
  const store = tokenStore()
  const start = fake.log.length
  assert.equal(await store.get('PHOTOS_ACCESS_KEY'), undefined)
  await store.set('PHOTOS_ACCESS_KEY', 'first')
  await store.set('PHOTOS_ACCESS_KEY', 'second')
  assert.equal(await store.get('PHOTOS_ACCESS_KEY'), 'second')
  assert.equal(fake.value('PHOTOS_ACCESS_KEY'), 'second')
  const calls = fake.log.slice(start).map(c => `${c.method} ${c.path.replace('/api/v3/secrets/raw/', '')}`)
  assert.deepEqual(calls, ['GET PHOTOS_ACCESS_KEY', 'PATCH PHOTOS_ACCESS_KEY', 'POST PHOTOS_ACCESS_KEY', 'PATCH PHOTOS_ACCESS_KEY', 'GET PHOTOS_ACCESS_KEY'])
  const created = fake.log.slice(start).find(c => c.method === 'POST')!
  assert.deepEqual({ ...created.body, secretValue: undefined }, { workspaceId: 'proj', environment: 'dev', secretPath: '/', type: 'shared', skipMultilineEncoding: true, secretValue: undefined })
  await store.delete('PHOTOS_ACCESS_KEY')
  assert.equal(fake.value('PHOTOS_ACCESS_KEY'), undefined)
  await store.delete('PHOTOS_ACCESS_KEY')
})

test('a value with ${...} is stored and read back exactly (no reference expansion)', async () => {
  const store = tokenStore()
  await store.set('REF_SECRET', 'abc${OTHER}def')
  assert.equal(await store.get('REF_SECRET'), 'abc${OTHER}def')
  const read = fake.log.findLast(c => c.method === 'GET' && c.path.endsWith('/REF_SECRET'))!
  assert.equal(read.query.expandSecretReferences, 'false')
})

test('universal auth logs in once, and again when its token is revoked', async () => {
  const store = createInfisicalSecretStore({ siteUrl: fake.url, projectId: 'proj', environment: 'dev', auth: { clientId: 'cid', clientSecret: 'csecret' } })
  const logins = () => fake.log.filter(c => c.path === '/api/v1/auth/universal-auth/login').length
  const before = logins()
  await store.set('UA_SECRET', 'v1')
  assert.equal(await store.get('UA_SECRET'), 'v1')
  assert.equal(logins(), before + 1)
  fake.revokeTokens()
  assert.equal(await store.get('UA_SECRET'), 'v1')
  assert.equal(logins(), before + 2)
  const bad = createInfisicalSecretStore({ siteUrl: fake.url, projectId: 'proj', environment: 'dev', auth: { clientId: 'cid', clientSecret: 'wrong' } })
  await assert.rejects(bad.get('UA_SECRET'), /401/)
})

test('Infisical down: cached secrets keep being served and health says so; a miss fails', async () => {
  const clock = { now: 0 }
  const store = createCachedSecretStore(tokenStore(), { ttlMs: 1000, now: () => clock.now, backendTimeoutMs: 100 })
  await store.set('DOWN_SECRET', 'cached-value')
  clock.now = 5000
  fake.mode = 503
  try {
    assert.equal(await store.get('DOWN_SECRET'), 'cached-value')
    assert.deepEqual({ ok: store.health().ok, degraded: store.health().degraded }, { ok: false, degraded: true })
    assert.match(store.health().lastError ?? '', /503/)
    await assert.rejects(store.get('NEVER_CACHED'))
    fake.mode = 'hang' // a backend that does not answer at all: the stale value comes after backendTimeoutMs
    const started = Date.now()
    assert.equal(await store.get('DOWN_SECRET'), 'cached-value')
    assert.ok(Date.now() - started < 1000)
    assert.equal(store.health().degraded, true)
  } finally {
    fake.release()
  }
  clock.now = 10_000
  assert.equal(await store.get('DOWN_SECRET'), 'cached-value')
  assert.deepEqual(store.health(), { ok: true, degraded: false, lastError: undefined })
})

test('the factory picks Infisical when configured, else the embedded store, else refuses', async () => {
  const client = redis.client()
  const infisical = createSecretStore({ INFISICAL_API_URL: fake.url, INFISICAL_TOKEN: fake.serviceToken, INFISICAL_PROJECT_ID: 'proj' }, client, keys)
  assert.equal(infisical.kind, 'infisical')
  await infisical.set('FACTORY_SECRET', 'x')
  assert.equal(fake.value('FACTORY_SECRET', 'dev'), 'x')
  const embedded = createSecretStore({ SECRETS_KEY: randomBytes(32).toString('base64') }, client, keys)
  assert.equal(embedded.kind, 'embedded')
  assert.throws(() => createSecretStore({}, client, keys), /no secret store configured/)
  assert.throws(() => infisicalOptions({ INFISICAL_TOKEN: 't' }), /INFISICAL_PROJECT_ID is required/)
  assert.throws(() => infisicalOptions({ INFISICAL_PROJECT_ID: 'p', INFISICAL_CLIENT_ID: 'c' }), /go together/)
  assert.deepEqual(infisicalOptions({ INFISICAL_PROJECT_ID: 'p', INFISICAL_CLIENT_ID: 'c', INFISICAL_CLIENT_SECRET: 's', INFISICAL_ENV: 'production' }), {
    siteUrl: 'https://app.infisical.com', projectId: 'p', environment: 'production', auth: { clientId: 'c', clientSecret: 's' }
  })
})

test('API with Infisical: add writes the Python monitor\'s names, a rotation PATCHes, delete removes them; Redis never holds them', async () => {
  const { startApi, acceptKey } = await import('../services/monitor/test/api-harness.ts')
  const h = await startApi({ checkCredentials: acceptKey('AK-1'), secretStore: () => tokenStore() })
  try {
    const auth = { authorization: `Bearer ${await h.token()}` }
    const add = await h.app.inject({ method: 'POST', url: '/api/buckets/add', headers: auth, payload: { name: 'my-bucket', access_key: 'AK-1', secret_key: 'SK-first', region: 'http://127.0.0.1:9', webhook_url: 'http://127.0.0.1:9/h' } })
    assert.equal(add.statusCode, 201, add.body)
    assert.equal(fake.value('MY_BUCKET_ACCESS_KEY'), 'AK-1')
    assert.equal(fake.value('MY_BUCKET_SECRET_KEY'), 'SK-first')
    const start = fake.log.length
    const rotate = await h.app.inject({ method: 'POST', url: '/api/buckets/update', headers: auth, payload: { name: 'my-bucket', access_key: 'AK-1', secret_key: 'SK-second' } })
    assert.equal(rotate.statusCode, 200, rotate.body)
    assert.equal(fake.value('MY_BUCKET_SECRET_KEY'), 'SK-second')
    assert.ok(fake.log.slice(start).some(c => c.method === 'PATCH' && c.path.endsWith('/MY_BUCKET_SECRET_KEY')))
    assert.ok(!fake.log.slice(start).some(c => c.method === 'POST'), 'an update never re-creates')
    const keysInRedis = (await h.redis.keys('*')).join(' ') + JSON.stringify(await h.redis.mget(await h.redis.keys('*')))
    assert.ok(!keysInRedis.includes('SK-second') && !keysInRedis.includes('SK-first'))
    const del = await h.app.inject({ method: 'POST', url: '/api/buckets/delete?bucket=my-bucket', headers: auth })
    assert.equal(del.statusCode, 200)
    assert.equal(fake.value('MY_BUCKET_ACCESS_KEY'), undefined)
    assert.equal(fake.value('MY_BUCKET_SECRET_KEY'), undefined)
  } finally {
    await h.close()
  }
})
