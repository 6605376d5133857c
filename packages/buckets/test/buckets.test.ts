import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { createKeys, createSubscriber } from '@internal/redis'
import {
  BucketRegistry, DEFAULT_CONFIG_CHECK_INTERVAL_MS, createBucketStore, createEmbeddedSecretStore, createCachedSecretStore, createMemorySecretStore,
  secretName, BucketName, type BucketChange
} from '@internal/buckets'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { waitFor } from '../../../test/support/ports.ts'

const keys = createKeys({ queueName: 'linode:notifications:queue', deadLetterName: 'linode:notifications:dead', statePrefix: 'linode:objstore:state:' })
let server: RedisServer
let redis: Redis
before(async () => { server = await startRedis(); redis = server.client() })
after(async () => { await server.stop() })

test('bucket names follow the S3 rules', () => {
  for (const ok of ['abc', 'my-bucket', 'my.bucket.1']) assert.equal(BucketName.safeParse(ok).success, true, ok)
  for (const bad of ['ab', 'My-Bucket', '-abc', 'abc-', 'a..b', '192.168.1.1', 'a_b', 'x'.repeat(64)]) assert.equal(BucketName.safeParse(bad).success, false, bad)
})

test('secret names keep the Python monitor\'s Infisical scheme', () => {
  assert.equal(secretName('my-bucket', 'ACCESS_KEY'), 'MY_BUCKET_ACCESS_KEY')
  assert.equal(secretName('my.bucket', 'SECRET_KEY'), 'MYdotBUCKET_SECRET_KEY')
})

test('save, notifications switch, list and delete, with the Python monitor\'s keys', async () => {
  const store = createBucketStore(redis, keys)
  const config = { name: 'photos', endpoint: 'http://127.0.0.1:9000', webhook_url: 'http://127.0.0.1:1/h', status: 'active' }
  assert.deepEqual(await store.save(config, 'create'), { ok: true, version: 1 })
  assert.deepEqual(await store.save(config, 'create'), { ok: false, reason: 'exists' })
  assert.deepEqual(await store.save({ ...config, name: 'nope' }, 'update'), { ok: false, reason: 'missing' })
  assert.equal(JSON.parse(await redis.get('linode:objstore:config:bucket:photos') ?? '{}').endpoint, 'http://127.0.0.1:9000')
  assert.equal(await store.setNotifications('photos', false), true)
  assert.equal(await redis.get('linode:objstore:config:photos:notifications_disabled'), 'true')
  assert.equal((await store.get('photos'))?.notifications_enabled, false)
  assert.equal(await store.setNotifications('missing', false), false)
  assert.deepEqual((await store.list()).map(b => b.name), ['photos'])
  await redis.hset(keys.objectState('photos'), 'a', 'b')
  assert.equal(await store.remove('photos'), true)
  assert.equal(await redis.exists(keys.bucketConfig('photos'), keys.objectState('photos'), keys.notificationsDisabled('photos')), 0)
  assert.equal(await store.remove('photos'), false)
})

test('plaintext keys in an old stored config never reach the services', async () => {
  const store = createBucketStore(redis, keys)
  await redis.set(keys.bucketConfig('legacy'), JSON.stringify({ name: 'legacy', endpoint: 'us-east-1.linodeobjects.com', access_key: 'AK', secret_key: 'SK' }))
  const bucket = await store.get('legacy') as Record<string, unknown>
  assert.equal(bucket.access_key, undefined)
  assert.equal(bucket.secret_key, undefined)
  await redis.del(keys.bucketConfig('legacy'))
})

test('a change reaches another replica through pub/sub', async () => {
  const store = createBucketStore(redis, keys)
  const registry = new BucketRegistry({ store, keys, subscriber: server.client(), checkIntervalMs: 60_000 })
  await registry.start()
  const changes: BucketChange[] = []
  registry.on('change', c => changes.push(c))
  const started = Date.now()
  await createBucketStore(server.client(), keys).save({ name: 'live', endpoint: 'h.example', status: 'active' }, 'put')
  await waitFor(() => registry.get('live') !== undefined, { what: 'registry update' })
  assert.ok(Date.now() - started < 1000)
  assert.equal(changes[0]?.name, 'live')
  await store.remove('live')
  await waitFor(() => registry.get('live') === undefined, { what: 'registry delete' })
  await registry.close()
})

test('embedded secrets are encrypted in Redis and bound to their name', async () => {
  const key = randomBytes(32)
  const store = createEmbeddedSecretStore(redis, keys.secrets, key)
  await store.set('PHOTOS_SECRET_KEY', 'super-secret-value')
  const blob = await redis.hget(keys.secrets, 'PHOTOS_SECRET_KEY') ?? ''
  assert.ok(!blob.includes('super-secret-value'))
  assert.equal(await store.get('PHOTOS_SECRET_KEY'), 'super-secret-value')
  await redis.hset(keys.secrets, 'OTHER', blob)
  await assert.rejects(store.get('OTHER'))
  await assert.rejects(createEmbeddedSecretStore(redis, keys.secrets, randomBytes(32)).get('PHOTOS_SECRET_KEY'))
  await store.delete('PHOTOS_SECRET_KEY')
  assert.equal(await store.get('PHOTOS_SECRET_KEY'), undefined)
})

test('the secret cache serves stale values while the backend is down', async () => {
  let now = 0
  let down = false
  const inner = createMemorySecretStore()
  const flaky = { ...inner, kind: inner.kind, get: async (n: string) => { if (down) throw new Error('down'); return inner.get(n) } }
  const cached = createCachedSecretStore(flaky, { ttlMs: 1000, now: () => now })
  await inner.set('A', '1')
  assert.equal(await cached.get('A'), '1')
  down = true
  now = 5000
  assert.equal(await cached.get('A'), '1')
  assert.equal(cached.health().degraded, true)
  await assert.rejects(cached.get('B'))
  down = false
  assert.equal(await cached.get('A'), '1')
  assert.equal(cached.health().ok, true)
})

test('the network policy refuses loopback, link-local, private and translated forms unless allowed', async () => {
  const { createNetworkPolicy } = await import('@internal/buckets')
  const closed = createNetworkPolicy([])
  for (const ip of ['127.0.0.1', '169.254.169.254', '10.1.2.3', '172.16.0.1', '192.168.1.1', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::127.0.0.1', '64:ff9b::7f00:1']) {
    assert.equal(closed.isAllowedAddress(ip), false, ip)
  }
  for (const ip of ['8.8.8.8', '2001:4860::1']) assert.equal(closed.isAllowedAddress(ip), true, ip)
  const open = createNetworkPolicy(['127.0.0.0/8'])
  assert.equal(open.isAllowedAddress('127.0.0.1'), true)
  assert.equal(open.isAllowedAddress('10.0.0.1'), false)
  assert.throws(() => createNetworkPolicy(['not-a-cidr']), /not a CIDR/)
})

test('the network policy also refuses 6to4, Teredo and site-local IPv6 unless allowed', async () => {
  const { createNetworkPolicy } = await import('@internal/buckets')
  const closed = createNetworkPolicy([])
  // 6to4 and Teredo embed an IPv4 address a relay may forward to; fec0::/10 is the deprecated site-local range.
  for (const ip of ['2002:7f00:1::1', '2002:a9fe:a9fe::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001::1', 'fec0::1', 'feff::1']) {
    assert.equal(closed.isAllowedAddress(ip), false, ip)
  }
  for (const ip of ['2001:db9::1', '2001:1::1', '2003::1']) assert.equal(closed.isAllowedAddress(ip), true, ip)
  assert.equal(createNetworkPolicy(['2002::/16']).isAllowedAddress('2002:7f00:1::1'), true)
})

test('URLs with CR, LF or tab inside are refused with the field named, not stripped', async () => {
  const { BucketInputFields } = await import('@internal/buckets')
  const base = { name: 'crlf-bucket', access_key: 'AK', secret_key: 'SK' }
  const cases: Array<[string, Record<string, unknown>]> = [
    ['webhook_url', { webhook_url: 'https://hooks.example.com/a\r\nX-Injected: 1' }],
    ['endpoint', { endpoint: 'https://s3.example.com\n.evil' }],
    ['region', { region: 'http://s3.example.com/\tx' }],
    ['token_url', { client_id: 'c', client_secret: 's', token_url: 'https://auth.example.com/tok\ren' }],
    ['webhook_auth.token_url', { webhook_auth: { type: 'oauth2', client_id: 'c', client_secret: 's', token_url: 'https://auth.example.com/\n' } }]
  ]
  for (const [field, extra] of cases) {
    const parsed = BucketInputFields.safeParse({ ...base, ...extra })
    assert.equal(parsed.success, false, field)
    assert.ok(parsed.error!.issues.some(i => i.path.join('.') === field && /CR, LF or tab/.test(i.message)), `${field}: ${JSON.stringify(parsed.error!.issues)}`)
  }
  assert.equal(BucketInputFields.safeParse({ ...base, webhook_url: 'https://hooks.example.com/a?b=c%0D%0A' }).success, true)
})

test('the secret cache never keeps a value read before a set or an invalidate that happened while the read was on its way', async () => {
  const inner = createMemorySecretStore()
  await inner.set('ROTATED', 'old')
  let open: () => void = () => {}
  let gate = Promise.resolve()
  // A slow backend: the value is read at once, the answer arrives when the gate opens.
  const slow = { ...inner, kind: inner.kind, async get (name: string) { const v = await inner.get(name); await gate; return v } }
  const store = createCachedSecretStore(slow, { ttlMs: 60_000, now: () => 1000 })

  gate = new Promise(resolve => { open = resolve })
  const inFlight = store.get('ROTATED')
  await store.set('ROTATED', 'new')
  open()
  await inFlight
  assert.equal(await store.get('ROTATED'), 'new', 'a set wins over a read that started before it')

  await inner.set('ROTATED', 'newer') // changed behind the cache, as by another replica
  gate = new Promise(resolve => { open = resolve })
  const stale = store.get('ROTATED') // cached: 'new'
  assert.equal(await stale, 'new')
  store.invalidate('ROTATED')
  gate = new Promise(resolve => { open = resolve })
  const first = store.get('ROTATED')
  await inner.set('ROTATED', 'newest')
  store.invalidate('ROTATED') // the config changed again while the read was on its way
  const second = store.get('ROTATED')
  open()
  await Promise.all([first, second])
  assert.equal(await second, 'newest', 'a read after an invalidate does not join the older read')
  assert.equal(await store.get('ROTATED'), 'newest')
})

test('a change whose pub/sub message was lost is still picked up by the version check', async () => {
  const store = createBucketStore(redis, keys)
  const registry = new BucketRegistry({ store, keys, subscriber: server.client(), checkIntervalMs: 100 })
  await registry.start()
  // Written behind the registry's back: a version bump without a message, as when a message is lost.
  await redis.set(keys.bucketConfig('silent'), JSON.stringify({ name: 'silent', endpoint: 'h.example', status: 'active' }))
  await redis.incr(keys.configVersion)
  // Then a change that is announced: its refresh must not paper over the missed one.
  await store.save({ name: 'loud', endpoint: 'h.example', status: 'active' }, 'put')
  await waitFor(() => registry.get('loud') !== undefined && registry.get('silent') !== undefined, { what: 'both buckets', timeoutMs: 3000 })
  await store.remove('loud')
  await redis.del(keys.bucketConfig('silent'))
  await registry.close()
})

test('a lost subscription is reported, subscribed again once allowed, and everything missed meanwhile is read', async () => {
  const store = createBucketStore(redis, keys)
  const subscriber = createSubscriber({ sentinel_host: null, sentinel_port: 26379, master_name: 'mymaster', password: null, db: 0, host: '127.0.0.1', port: server.port })
  const seen: boolean[] = []
  const registry = new BucketRegistry({ store, keys, subscriber, checkIntervalMs: 60_000, onError: () => {}, onSubscription: up => seen.push(up) })
  await registry.start()
  assert.equal(registry.subscribed, true)
  try {
    await redis.call('ACL', 'SETUSER', 'default', '-subscribe')
    await redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
    await waitFor(() => !registry.subscribed, { what: 'the subscription reported lost', timeoutMs: 3000 })
    await store.save({ name: 'missed', endpoint: 'h.example', status: 'active' }, 'put') // its message reaches nobody
    await new Promise(resolve => setTimeout(resolve, 300))
    assert.equal(registry.get('missed'), undefined, 'no message, and the version check is a minute away')
    await redis.call('ACL', 'SETUSER', 'default', '+subscribe')
    await waitFor(() => registry.subscribed && registry.get('missed') !== undefined, { what: 'resubscribed and reloaded', timeoutMs: 5000 })
    assert.deepEqual(seen, [true, false, true])
  } finally {
    await redis.call('ACL', 'SETUSER', 'default', '+subscribe')
    await store.remove('missed')
    await registry.close()
    subscriber.disconnect()
  }
})

test('by default a change whose message was lost is seen within about a second', async () => {
  const store = createBucketStore(redis, keys)
  const registry = new BucketRegistry({ store, keys, subscriber: server.client() })
  await registry.start()
  await redis.set(keys.bucketConfig('quiet'), JSON.stringify({ name: 'quiet', endpoint: 'h.example', status: 'active' }))
  await redis.incr(keys.configVersion)
  const started = Date.now()
  await waitFor(() => registry.get('quiet') !== undefined, { what: 'the silent change', timeoutMs: 2500 })
  assert.ok(Date.now() - started <= DEFAULT_CONFIG_CHECK_INTERVAL_MS + 500)
  await redis.del(keys.bucketConfig('quiet'))
  await registry.close()
})
