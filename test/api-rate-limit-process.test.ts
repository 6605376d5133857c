// The token route's rate limit across two real monitor processes sharing one redis-server:
// the limit is per client address for the whole deployment, not per replica.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startRedis, type RedisServer } from './support/redis-server.ts'
import { spawnMonitor, sharedEnv, type MonitorProcess } from '../services/monitor/test/spawn-monitor.ts'

let redis: RedisServer
const monitors: MonitorProcess[] = []
const env = sharedEnv()
before(async () => {
  redis = await startRedis()
  const config = { redis: { host: '127.0.0.1', port: redis.port }, api: { token_rate_limit: 4 } }
  monitors.push(...await Promise.all([spawnMonitor(config, env), spawnMonitor(config, env)]))
})
after(async () => {
  await Promise.all(monitors.map(m => m.kill('SIGTERM')))
  await redis.stop()
})

test('two monitor replicas share one token rate limit per address, with RateLimit-* and Retry-After', async () => {
  const post = (m: MonitorProcess) => fetch(`http://127.0.0.1:${m.port}/api/auth/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials&client_id=${env.API_CLIENT_ID}&client_secret=wrong`
  })
  const [a, b] = monitors as [MonitorProcess, MonitorProcess]
  // The window is a calendar minute: start clear of its end, so the six requests share one.
  const leftMs = 60_000 - Date.now() % 60_000
  if (leftMs < 3000) await new Promise(resolve => setTimeout(resolve, leftMs + 50))
  const answers = []
  for (const m of [a, b, a, b, a, b]) answers.push(await post(m))
  assert.deepEqual(answers.map(r => r.status), [401, 401, 401, 401, 429, 429], 'four in all across both replicas, not four each')
  assert.deepEqual(answers.map(r => r.headers.get('ratelimit-remaining')), ['3', '2', '1', '0', '0', '0'])
  assert.equal(answers[0]!.headers.get('ratelimit-limit'), '4')
  const retryAfter = Number(answers[5]!.headers.get('retry-after'))
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`)
  assert.equal((await answers[5]!.json() as { error: string }).error, 'Too many token requests; try again later')
})
