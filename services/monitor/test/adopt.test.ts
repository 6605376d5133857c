import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { ListObjectsV2Command } from '@aws-sdk/client-s3'
import { loadConfig } from '@internal/config'
import { createKeys } from '@internal/redis'
import { createBucketStore, createCachedSecretStore, createEmbeddedSecretStore, createInfisicalSecretStore, bucketSecretNames } from '@internal/buckets'
import { createLogger } from '@internal/telemetry'
import { adoptOriginal } from '../src/adopt.ts'
import { encodeFingerprint } from '../src/fingerprint.ts'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { startS3, type S3TestServer } from '../../../test/support/s3.ts'
import { startFakeInfisical, type FakeInfisical } from '../../../test/support/fake-infisical.ts'

let server: RedisServer
let s3: S3TestServer
let fake: FakeInfisical
const config = loadConfig({ CONFIG_PATH: '/dev/null' }, { defaultHttpPort: 8080 })
const keys = createKeys({ queueName: config.redis.queue_name, deadLetterName: config.redis.dead_letter_queue, statePrefix: config.redis.state_prefix })
const log = createLogger({ service: 'test', level: 'silent' })

before(async () => { server = await startRedis(); s3 = await startS3(); fake = await startFakeInfisical() })
after(async () => { await server.stop(); await s3.stop(); await fake.close() })

/** Writes Redis the way the Python service leaves it (config JSON under linode:objstore:config:bucket:NAME, one state string per object). */
async function fillLikeTheOriginal (redis: ReturnType<RedisServer['client']>, listing: Array<{ Key?: string, ETag?: string, Size?: number, LastModified?: Date }>) {
  await redis.set('linode:objstore:config:bucket:legacy-one', JSON.stringify({
    name: 'legacy-one',
    endpoint: s3.endpoint,
    webhook_url: 'https://hooks.example/one',
    status: 'active',
    added_at: '2026-11-21T23:25:21.244967',
    webhook_auth: { type: 'oauth2', client_id: 'hook-client', client_secret: 'plain-client-secret', token_url: 'https://auth.example/token' }
  }))
  // After /api/buckets/update the Python monitor also wrote the S3 keys into the JSON.
  await redis.set('linode:objstore:config:bucket:legacy-two', JSON.stringify({
    name: 'legacy-two',
    endpoint: 'us-iad-1.linodeobjects.com',
    webhook_url: 'https://hooks.example/two',
    status: 'active',
    added_at: '2026-11-01T10:00:00.000000',
    updated_at: '2026-11-02T10:00:00.000000',
    access_key: 'PLAINAK2',
    secret_key: 'plain-secret-key-two'
  }))
  // An OAuth update without token_url lost it.
  await redis.set('linode:objstore:config:bucket:legacy-three', JSON.stringify({
    name: 'legacy-three',
    endpoint: 'us-iad-1.linodeobjects.com',
    webhook_url: 'https://hooks.example/three',
    status: 'active',
    webhook_auth: { type: 'oauth2', client_id: 'c3', client_secret: 'plain-secret-three' }
  }))
  await redis.set('linode:objstore:config:bucket:Bad_Name', JSON.stringify({ name: 'Bad_Name', endpoint: 'x' }))
  await redis.set('linode:objstore:config:bucket:broken-json', '{not json')
  await redis.set('linode:objstore:config:legacy-two:notifications_disabled', 'true')
  await redis.set('linode:objstore:last_scan:legacy-one', '1795303289.83205')
  for (const o of listing) {
    const state = { etag: o.ETag!.replaceAll('"', ''), last_modified: o.LastModified!.getTime() / 1000, size: o.Size, last_processed: 1795303289.8, last_seen: 1795303289.8 }
    await redis.setex(`linode:objstore:state:legacy-one:${o.Key}`, 2592000, JSON.stringify(state))
  }
  await redis.setex('linode:objstore:state:legacy-one:broken', 2592000, 'not json')
}

test('adopts the Python monitor\'s deployment: secrets out of Redis into the store, state strings into fingerprints, idempotent', async () => {
  const redis = server.client()
  await s3.createBucket('legacy-one')
  for (let i = 0; i < 12; i++) await s3.put('legacy-one', `seed/d0000/obj-${String(i).padStart(7, '0')}.dat`, `body-${i}`)
  const listing = (await s3.client.send(new ListObjectsV2Command({ Bucket: 'legacy-one' }))).Contents ?? []
  await fillLikeTheOriginal(redis, listing)

  const store = createBucketStore(redis, keys)
  const secrets = createCachedSecretStore(createEmbeddedSecretStore(redis, keys.secrets, randomBytes(32)), { ttlMs: 60_000 })
  await secrets.set(bucketSecretNames('legacy-one').ACCESS_KEY, 'AK-from-infisical')
  const report = await adoptOriginal({ config, redis, keys, store, secrets, log })

  assert.deepEqual(report.buckets.sort(), ['legacy-one', 'legacy-three', 'legacy-two'])
  assert.deepEqual(report.skipped.map(s => s.key).sort(), ['linode:objstore:config:bucket:Bad_Name', 'linode:objstore:config:bucket:broken-json'])
  assert.equal(report.statesMigrated, 12)
  const all = JSON.stringify(await redis.mget(await redis.keys('linode:objstore:config:*')))
  for (const plain of ['plain-client-secret', 'PLAINAK2', 'plain-secret-key-two', 'plain-secret-three']) assert.ok(!all.includes(plain), `${plain} still in Redis`)
  assert.equal(await secrets.get(bucketSecretNames('legacy-two').ACCESS_KEY), 'PLAINAK2')
  assert.equal(await secrets.get(bucketSecretNames('legacy-two').SECRET_KEY), 'plain-secret-key-two')
  assert.equal(await secrets.get(bucketSecretNames('legacy-one').WEBHOOK_CLIENT_SECRET), 'plain-client-secret')
  assert.equal(await secrets.get(bucketSecretNames('legacy-one').ACCESS_KEY), 'AK-from-infisical', 'a value already in the store wins')

  const buckets = await store.list()
  assert.deepEqual(buckets.map(b => [b.name, b.notifications_enabled]), [['legacy-one', true], ['legacy-three', true], ['legacy-two', false]])
  const one = buckets[0]!
  assert.deepEqual(one.webhook_auth, { type: 'oauth2', client_id: 'hook-client', token_url: 'https://auth.example/token' })
  assert.equal(one.added_at, '2026-11-21T23:25:21.244967')
  assert.equal(buckets[1]!.webhook_auth, undefined, 'an OAuth config without token_url is dropped, as the Python monitor behaved')

  const state = await redis.hgetall(keys.objectState('legacy-one'))
  assert.equal(Object.keys(state).length, 12)
  for (const o of listing) {
    const asScanned = encodeFingerprint({ etag: o.ETag!.replace(/^"|"$/g, ''), size: o.Size!, lastModifiedMs: o.LastModified!.getTime() })
    assert.equal(state[o.Key!], asScanned, `${o.Key}: the scanner will see it unchanged`)
  }
  assert.deepEqual(await redis.keys('linode:objstore:state:legacy-one:*'), [], 'legacy state strings are gone')
  assert.equal(await redis.get(keys.lastScan('legacy-one')), '1795303289.83205', 'last scan kept: not a first scan')

  const version = await store.version()
  const again = await adoptOriginal({ config, redis, keys, store, secrets, log })
  assert.equal(again.statesMigrated, 0)
  assert.equal(await store.version(), version, 'a second run changes nothing')
})

test('Infisical: a dotted bucket name the Python monitor mangled is copied to our name', async () => {
  const redis = server.client()
  await redis.flushall()
  await redis.set('linode:objstore:config:bucket:logs.example', JSON.stringify({ name: 'logs.example', endpoint: 'us-iad-1.linodeobjects.com', webhook_url: 'https://hooks.example/logs' }))
  const infisical = createInfisicalSecretStore({ siteUrl: fake.url, projectId: 'proj', environment: 'dev', auth: { accessToken: fake.serviceToken } })
  await infisical.set('LOGS.EXAMPLE_ACCESS_KEY', 'AK-dotted')
  await infisical.set('LOGS.EXAMPLE_SECRET_KEY', 'SK-dotted')
  const secrets = createCachedSecretStore(infisical, { ttlMs: 60_000 })
  const report = await adoptOriginal({ config, redis, keys, store: createBucketStore(redis, keys), secrets, log })
  assert.deepEqual(report.buckets, ['logs.example'])
  assert.equal(fake.value('LOGSdotEXAMPLE_ACCESS_KEY'), 'AK-dotted')
  assert.equal(fake.value('LOGSdotEXAMPLE_SECRET_KEY'), 'SK-dotted')
})
