import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, ConfigError } from '@internal/config'

const dir = mkdtempSync(join(tmpdir(), 'wf-config-'))
const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p }

test('defaults match the Python services\'', () => {
  const c = loadConfig({ CONFIG_PATH: file('empty.yaml', '') }, { defaultHttpPort: 8080 })
  assert.equal(c.defaults.polling_interval, 60)
  assert.equal(c.defaults.max_objects_per_batch, 1000)
  assert.equal(c.parallel.max_workers, 60)
  assert.equal(c.parallel.rate_limit_per_region, 15)
  assert.equal(c.parallel.stagger_method, 'hash')
  assert.equal(c.redis.queue_name, 'linode:notifications:queue')
  assert.equal(c.redis.state_prefix, 'linode:objstore:state:')
  assert.equal(c.redis.ttl, 2592000)
  assert.deepEqual([c.webhook.timeout, c.webhook.circuit_threshold, c.webhook.circuit_reset_time], [10, 5, 60])
  // Unset (not defaulted), so the consumer can tell an old exponential config from none at all.
  assert.deepEqual([c.webhook.retry_schedule, c.webhook.max_retries, c.webhook.backoff_factor], [undefined, undefined, undefined])
  assert.deepEqual([c.webhook.disable_after, c.webhook.max_parked], [432_000, 100_000])
  assert.deepEqual([c.consumer.polling_interval, c.consumer.batch_size, c.consumer.webhook_threads, c.consumer.max_empty_polls], [1, 10, 20, 10])
  assert.equal(c.httpPort, 8080)
})

test('the Python services\' ConfigMap loads unchanged and env overrides it', () => {
  const path = file('orig.yaml', `
defaults:
  polling_interval: 60
  endpoint: us-iad-1.linodeobjects.com
  max_objects_per_batch: 1000
parallel:
  max_workers: 60
  rate_limit_per_region: 15
  stagger_method: hash
  buckets_per_batch: 10
redis:
  sentinel_host: redis-sentinel
  sentinel_port: 26379
  master_name: mymaster
  password: null
  db: 0
  queue_name: linode:notifications:queue
  state_prefix: "linode:objstore:state:"
  ttl: 2592000
  connection_pool_size: 10
  socket_timeout: 5
oauth:
  token_url: https://auth.example.com/token
  client_id: abc
webhook:
  url: https://hooks.example.com/x
  timeout: 10
consumer:
  batch_size: 10
logging:
  level: INFO
  format: json
buckets: []
`)
  const buckets = file('buckets.yaml', 'buckets:\n  - name: photos\n    endpoint: us-east-1.linodeobjects.com\n    access_key: AK\n    secret_key: SK\n')
  const c = loadConfig({ CONFIG_PATH: path, BUCKETS_PATH: buckets, POLLING_INTERVAL: '5', REDIS_SENTINEL_HOST: 'a:1,b:2', HTTP_PORT: '9000', WEBHOOK_URL: 'http://127.0.0.1:9/h' }, { defaultHttpPort: 8081 })
  assert.equal(c.defaults.polling_interval, 5)
  assert.equal(c.defaults.endpoint, 'us-iad-1.linodeobjects.com')
  assert.equal(c.redis.sentinel_host, 'a:1,b:2')
  assert.equal(c.webhook.url, 'http://127.0.0.1:9/h')
  assert.equal(c.httpPort, 9000)
  assert.equal(c.logLevel, 'info')
  assert.equal(c.buckets.length, 1)
})

test('every bad key is reported at once', () => {
  const path = file('bad.yaml', 'defaults:\n  polling_interval: -3\nparallel:\n  stagger_method: sideways\nwebhook:\n  timeout: soon\n')
  try {
    loadConfig({ CONFIG_PATH: path, REDIS_PORT: 'seventy', LOG_LEVEL: 'loud' }, { defaultHttpPort: 8080 })
    assert.fail('should throw')
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    const text = err.problems.join('\n')
    for (const key of ['defaults.polling_interval', 'parallel.stagger_method', 'webhook.timeout', 'REDIS_PORT', 'LOG_LEVEL']) assert.match(text, new RegExp(key))
  }
})

test('a missing CONFIG_PATH file or broken YAML is a clear error', () => {
  assert.throws(() => loadConfig({ CONFIG_PATH: join(dir, 'nope.yaml') }, { defaultHttpPort: 8080 }), /nope.yaml: not found/)
  assert.throws(() => loadConfig({ CONFIG_PATH: file('broken.yaml', 'a: [1, 2') }, { defaultHttpPort: 8080 }), /broken.yaml/)
})
