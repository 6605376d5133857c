import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { stringify } from 'yaml'
import { ConfigError } from '@internal/config'
import { createKeys } from '@internal/redis'
import { createBucketStore, createMemorySecretStore, bucketSecretNames } from '@internal/buckets'
import type { Redis } from 'ioredis'
import { startRedis, type RedisServer } from '../../../test/support/redis-server.ts'
import { loadMonitorConfig } from '../src/config.ts'
import { loadConfiguredBuckets } from '../src/bucket-bootstrap.ts'

let server: RedisServer
let redis: Redis
const dir = mkdtempSync(join(tmpdir(), 'wf-monitor-config-'))
before(async () => { server = await startRedis(); redis = server.client() })
after(async () => { await server.stop(); rmSync(dir, { recursive: true, force: true }) })

const goodEnv = () => ({
  JWT_SECRET: randomBytes(32).toString('hex'), API_CLIENT_ID: 'id', API_CLIENT_SECRET: randomBytes(8).toString('hex'), SECRETS_KEY: randomBytes(32).toString('base64')
})

function writeConfig (content: unknown): string {
  const path = join(dir, `${randomBytes(4).toString('hex')}.yaml`)
  writeFileSync(path, stringify(content))
  return path
}

test('the monitor environment: API credentials, a 32-byte JWT secret and a secret store, all reported together', () => {
  const path = writeConfig({ defaults: { polling_interval: 'often' } })
  const err = (() => { try { loadMonitorConfig({ CONFIG_PATH: path, JWT_SECRET: '', REDIS_PORT: 'x' }) } catch (e) { return e } })()
  assert.ok(err instanceof ConfigError)
  const text = err.problems.join('\n')
  for (const expected of ['JWT_SECRET', 'API_CLIENT_ID', 'API_CLIENT_SECRET', 'REDIS_PORT', 'defaults.polling_interval']) assert.match(text, new RegExp(expected))
  const { config, env } = loadMonitorConfig({ ...goodEnv(), CONFIG_PATH: writeConfig({}) })
  assert.equal(config.httpPort, 8080)
  assert.equal(env.API_CLIENT_ID, 'id')
  assert.throws(() => loadMonitorConfig({ ...goodEnv(), SECRETS_KEY: undefined, CONFIG_PATH: writeConfig({}) }), /no secret store/)
})

test('a short API_CLIENT_SECRET and the published demo secrets are refused, all listed at once, unless ALLOW_DEMO_SECRETS', () => {
  const problems = (env: Record<string, string | undefined>) => {
    try { loadMonitorConfig({ ...goodEnv(), CONFIG_PATH: writeConfig({}), ...env }); return [] } catch (e) { return (e as ConfigError).problems }
  }
  const short = problems({ API_CLIENT_SECRET: 'x', JWT_SECRET: 'y'.repeat(31) })
  assert.equal(short.length, 2, short.join('\n'))
  assert.match(short.join('\n'), /API_CLIENT_SECRET: must be at least 16 bytes/)
  assert.match(short.join('\n'), /JWT_SECRET: must be at least 32 bytes/)
  const composeDemo = { JWT_SECRET: 'demo-only-jwt-secret-do-not-use-in-production', API_CLIENT_SECRET: 'demo-client-secret-change-me' }
  const demo = problems(composeDemo)
  assert.equal(demo.length, 2, demo.join('\n'))
  for (const line of demo) assert.match(line, /published demo value.*ALLOW_DEMO_SECRETS/)
  const example = problems({ JWT_SECRET: '<at least 32 random bytes, e.g. openssl rand -base64 48>' })
  assert.match(example.join('\n'), /JWT_SECRET: .*published demo value/, 'the k8s example placeholder is a demo value too')
  assert.deepEqual(problems({ ...composeDemo, ALLOW_DEMO_SECRETS: 'true' }), [])
  assert.match(problems({ ...composeDemo, ALLOW_DEMO_SECRETS: 'yes' }).join('\n'), /ALLOW_DEMO_SECRETS/)
  assert.equal(problems({ API_CLIENT_SECRET: 'x', ALLOW_DEMO_SECRETS: 'true' }).length, 1, 'the demo flag never lifts the length rule')
})

test('config-file buckets go to Redis without secrets, secrets to the secret store; restarts keep API switches', async () => {
  const keys = createKeys({ queueName: 'q', deadLetterName: 'd', statePrefix: 's:' })
  const store = createBucketStore(redis, keys)
  const secrets = createMemorySecretStore()
  const bucket = { name: 'media', region: 'us-iad-1.linodeobjects.com', access_key: 'AKIA123', secret_key: 'very-secret', webhook_url: 'https://hooks.example.com/x', exclude: ['*.part'] }
  const { config } = loadMonitorConfig({ ...goodEnv(), CONFIG_PATH: writeConfig({ buckets: [bucket] }) })
  assert.deepEqual(await loadConfiguredBuckets({ config, store, secrets, now: () => 0 }), ['media'])
  const raw = await redis.get(keys.bucketConfig('media')) ?? ''
  assert.ok(!raw.includes('very-secret') && !raw.includes('AKIA123'))
  assert.equal(JSON.parse(raw).endpoint, 'us-iad-1.linodeobjects.com')
  assert.equal(await secrets.get(bucketSecretNames('media').SECRET_KEY), 'very-secret')

  await store.setNotifications('media', false)
  const version = await store.version()
  await loadConfiguredBuckets({ config, store, secrets, now: () => 1000 })
  assert.equal(await store.version(), version, 'an unchanged bucket is not rewritten')
  assert.equal((await store.get('media'))?.notifications_enabled, false)
})

test('every bad config-file bucket is listed before anything is written', async () => {
  const keys = createKeys({ queueName: 'q', deadLetterName: 'd', statePrefix: 's2:' })
  const store = createBucketStore(redis, keys)
  const bad = [{ name: 'ok-one', access_key: 'a', secret_key: 'b' }, { name: 'x' }, { name: 'ok-one', access_key: 'a', secret_key: 'b' }, { name: 'fine', access_key: 'a', secret_key: 'b', webhook_url: 'ftp://nope' }, { name: 'globs', access_key: 'a', secret_key: 'b', include: ['logs/[0-9*.log'] }]
  const { config } = loadMonitorConfig({ ...goodEnv(), CONFIG_PATH: writeConfig({ buckets: bad }) })
  await redis.flushall()
  const err = await loadConfiguredBuckets({ config, store, secrets: createMemorySecretStore(), now: Date.now }).catch(e => e)
  assert.ok(err instanceof ConfigError)
  const text = err.problems.join('\n')
  assert.match(text, /buckets\[1\] \(x\) name/)
  assert.match(text, /buckets\[1\] \(x\) access_key/)
  assert.match(text, /buckets\[2\] \(ok-one\): bucket listed twice/)
  assert.match(text, /buckets\[3\] \(fine\) webhook_url/)
  assert.match(text, /buckets\[4\] \(globs\) include\.0.*pattern "logs\/\[0-9\*\.log": Missing closing/, 'an unusable glob stops the start-up, named')
  assert.deepEqual(await store.listNames(), [])
})
