import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startRedis } from '../../../test/support/redis-server.ts'
import { startFakeS3 } from '../../../test/support/fake-s3.ts'
import { spawnMonitor, sharedEnv } from '../../../services/monitor/test/spawn-monitor.ts'
import { runCli } from './run-cli.ts'

// `buckets resync` against a real monitor process whose S3 server answers slowly: the
// progress line shows the running scan's objects listed, of the tracked count, and its ranges.

test('buckets resync shows the running scan\'s progress from its status until the scan ends', { timeout: 60_000 }, async () => {
  const [redisServer, s3] = await Promise.all([startRedis(), startFakeS3()])
  const env = sharedEnv()
  const home = mkdtempSync(join(tmpdir(), 'wf-cli-progress-'))
  s3.createBucket('slow-bucket')
  s3.seed('slow-bucket', Array.from({ length: 6000 }, (_, i) => ({ key: `obj-${String(i).padStart(5, '0')}.json`, lastModified: Date.now() - 3 * 86_400_000 })))
  const monitor = await spawnMonitor({
    defaults: { polling_interval: 3600, max_objects_per_batch: 250 },
    parallel: { rate_limit_per_region: 2 },
    redis: { host: '127.0.0.1', port: redisServer.port },
    webhook: { allowed_networks: ['127.0.0.0/8'] },
    buckets: [{ name: 'slow-bucket', endpoint: s3.endpoint, access_key: 'AK', secret_key: 'SK', webhook_url: 'http://127.0.0.1:9/hook' }]
  }, env)
  try {
    const cliEnv = { HOME: home, XDG_CONFIG_HOME: join(home, 'xdg'), WATCH_FOLDER_URL: `http://127.0.0.1:${monitor.port}`, WATCH_FOLDER_CLIENT_ID: env.API_CLIENT_ID!, WATCH_FOLDER_CLIENT_SECRET: env.API_CLIENT_SECRET! }
    const first = await runCli(['buckets', 'resync', 'slow-bucket', '-o', 'json'], { env: cliEnv }) // the first scan (at start-up or this one) records 6,000 objects
    assert.equal(first.code, 0, first.stderr)
    s3.latencyMs = 150 // 24 pages of 250, two ranges at a time: a few seconds
    const resync = await runCli(['buckets', 'resync', 'slow-bucket', '-o', 'json'], { env: cliEnv })
    assert.equal(resync.code, 0, resync.stderr)
    const running = [...resync.stderr.matchAll(/^resync slow-bucket: scanning, \d+ s, (\d+) objects listed of 6000 tracked, (\d+)\/(\d+) ranges done$/gm)]
    assert.ok(running.some(m => Number(m[1]) > 0 && Number(m[1]) < 6000), `a line midway through the scan:\n${resync.stderr}`)
    assert.ok(running.every(m => Number(m[2]) <= Number(m[3])))
    assert.match(resync.stderr, /^resync slow-bucket: ok, 6000 objects listed of 6000 tracked in \d+ ms$/m)
    assert.equal(resync.json().scan_progress, null)
  } finally {
    await monitor.kill('SIGTERM')
    await Promise.all([redisServer.stop(), s3.close()])
    rmSync(home, { recursive: true, force: true })
  }
})
