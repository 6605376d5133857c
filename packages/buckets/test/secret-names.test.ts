import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { createKeys } from '@internal/redis'
import {
  BucketName, SECRET_KINDS, createEmbeddedSecretStore, createInfisicalSecretStore, createSecretStore, migrateLegacySecretNames,
  SUBSCRIPTION_SECRET_KINDS, secretName, subscriptionSecretName, withLegacySecretNames, type SecretStore
} from '@internal/buckets'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { startFakeInfisical, type FakeInfisical } from '../../../test/support/fake-infisical.ts'

let redis: RedisServer
let infisical: FakeInfisical
const keys = createKeys({ queueName: 'q', deadLetterName: 'd', statePrefix: 's:' })

before(async () => { [redis, infisical] = await Promise.all([startRedis(), startFakeInfisical()]) })
after(async () => { await infisical.close(); await redis.stop() })

const embedded = (): SecretStore => createEmbeddedSecretStore(redis.client(), `secrets:${randomBytes(4).toString('hex')}`, randomBytes(32))
const infisicalStore = (): SecretStore => createInfisicalSecretStore({ siteUrl: infisical.url, projectId: randomBytes(4).toString('hex'), environment: 'dev', auth: { accessToken: infisical.serviceToken } })

test('secret names are an injective encoding of bucket and kind, and keep the Python monitor\'s names of dot-free buckets', () => {
  assert.notEqual(secretName('a.b', 'ACCESS_KEY'), secretName('a-dot-b', 'ACCESS_KEY'))
  assert.equal(secretName('my-bucket', 'ACCESS_KEY'), 'MY_BUCKET_ACCESS_KEY')
  assert.equal(secretName('logs.example', 'SIGNING_SECRET'), 'LOGSdotEXAMPLE_SIGNING_SECRET')
  const bucket = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]$/).filter(n => BucketName.safeParse(n).success)
  const kind = fc.constantFrom(...SECRET_KINDS)
  fc.assert(fc.property(bucket, kind, bucket, kind, (b1, k1, b2, k2) => {
    if (b1 === b2 && k1 === k2) return
    assert.notEqual(secretName(b1, k1), secretName(b2, k2))
    assert.match(secretName(b1, k1), /^[A-Za-z0-9_]+$/)
  }), { numRuns: 5000 })
})

test('subscription secret names: injective over bucket, subscription and kind, never a bucket secret name; default uses the bucket\'s own', () => {
  assert.equal(subscriptionSecretName('photos', 'thumbs', 'SIGNING_SECRET'), 'PHOTOS_subTHUMBS_SIGNING_SECRET')
  assert.equal(subscriptionSecretName('photos', 'default', 'SIGNING_SECRET'), secretName('photos', 'SIGNING_SECRET'))
  const bucket = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,12}[a-z0-9]$/).filter(n => BucketName.safeParse(n).success)
  const id = fc.oneof(fc.constantFrom('a', 'sub', 'signing', 'secret-key', 'x-signing', 'default'), fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,10}$/))
  const kind = fc.constantFrom(...SUBSCRIPTION_SECRET_KINDS)
  const anyKind = fc.constantFrom(...SECRET_KINDS)
  fc.assert(fc.property(bucket, id, kind, bucket, id, kind, anyKind, (b1, s1, k1, b2, s2, k2, k3) => {
    const name = subscriptionSecretName(b1, s1, k1)
    if (!(b1 === b2 && s1 === s2 && k1 === k2)) assert.notEqual(name, subscriptionSecretName(b2, s2, k2))
    if (s1 !== 'default') assert.notEqual(name, secretName(b2, k3))
    assert.match(name, /^[A-Za-z0-9_]+$/)
  }), { numRuns: 5000 })
})

for (const [label, make] of [['embedded AES store', embedded], ['Infisical', infisicalStore]] as const) {
  test(`${label}: start-up migration moves dotted buckets' secrets off their old names`, async () => {
    const store = make()
    await store.set('LOGS_DOT_EXAMPLE_ACCESS_KEY', 'ak-logs')
    await store.set('LOGS_DOT_EXAMPLE_SIGNING_SECRET', 'sig-logs')
    await store.set('PLAIN_BUCKET_ACCESS_KEY', 'ak-plain') // a name that never changed
    // `a.b` and `a-dot-b` both exist: the old name is a-dot-b's name too, so it stays.
    await store.set('A_DOT_B_SECRET_KEY', 'shared-sk')
    const result = await migrateLegacySecretNames(store, ['a-dot-b', 'a.b', 'logs.example', 'plain-bucket'])
    assert.deepEqual(result.moved.sort(), ['AdotB_SECRET_KEY', 'LOGSdotEXAMPLE_ACCESS_KEY', 'LOGSdotEXAMPLE_SIGNING_SECRET'])
    assert.deepEqual(result.shared, ['A_DOT_B_SECRET_KEY'])
    assert.equal(await store.get(secretName('logs.example', 'ACCESS_KEY')), 'ak-logs')
    assert.equal(await store.get(secretName('logs.example', 'SIGNING_SECRET')), 'sig-logs')
    assert.equal(await store.get('LOGS_DOT_EXAMPLE_ACCESS_KEY'), undefined, 'the old name is gone')
    assert.equal(await store.get(secretName('plain-bucket', 'ACCESS_KEY')), 'ak-plain')
    assert.equal(await store.get(secretName('a.b', 'SECRET_KEY')), 'shared-sk')
    assert.equal(await store.get(secretName('a-dot-b', 'SECRET_KEY')), 'shared-sk')
    assert.deepEqual(await migrateLegacySecretNames(store, ['logs.example']), { moved: [], shared: [] }, 'a second run finds nothing')
  })

  test(`${label}: a read before the migration finds the secret under its old name and moves it`, async () => {
    const inner = make()
    await inner.set('DATA_DOT_LAKE_WEBHOOK_CLIENT_SECRET', 'client-secret')
    const store = withLegacySecretNames(inner)
    assert.equal(await store.get(secretName('data.lake', 'WEBHOOK_CLIENT_SECRET')), 'client-secret')
    assert.equal(await inner.get('DATAdotLAKE_WEBHOOK_CLIENT_SECRET'), 'client-secret', 'stored under the new name')
    assert.equal(await store.get(secretName('data.lake', 'SIGNING_SECRET')), undefined)
  })
}

test('the services\' secret store reads old names', async () => {
  const client = redis.client()
  const key = randomBytes(32).toString('base64')
  const direct = createEmbeddedSecretStore(client, keys.secrets, Buffer.from(key, 'base64'))
  await direct.set('OLD_DOT_ONE_ACCESS_KEY', 'ak-old')
  const store = createSecretStore({ SECRETS_KEY: key }, client, keys)
  assert.equal(await store.get(secretName('old.one', 'ACCESS_KEY')), 'ak-old')
})
