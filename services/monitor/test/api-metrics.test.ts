import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRegistry } from '@internal/telemetry'
import { startApi, acceptKey, CLIENT_SECRET, JWT_SECRET } from './api-harness.ts'

test('the API counts requests, refused authentications and rate limiting; the secret store health is a gauge; no secret in the metrics', async t => {
  const registry = createRegistry({ defaults: false })
  const h = await startApi({ checkCredentials: acceptKey('AK'), metrics: registry })
  t.after(() => h.close())
  const auth = { authorization: `Bearer ${await h.token()}` }
  await h.app.inject({ method: 'GET', url: '/api/buckets' })
  await h.app.inject({ method: 'GET', url: '/api/buckets', headers: { authorization: 'Bearer nope' } })
  await h.app.inject({ method: 'POST', url: '/api/buckets/add', headers: auth, payload: { name: 'metric-1', access_key: 'AK', secret_key: 'metric-secret-value', region: 'http://127.0.0.1:9', webhook_url: 'http://127.0.0.1:9/h' } })
  for (let i = 0; i < 7; i++) await h.app.inject({ method: 'POST', url: '/api/auth/token', payload: { client_id: 'x', client_secret: 'y' }, remoteAddress: '10.7.7.7' })
  const text = await registry.metrics()
  assert.match(text, /watch_folder_api_auth_failures_total\{reason="missing"\} 1/)
  assert.match(text, /watch_folder_api_auth_failures_total\{reason="invalid"\} 1/)
  assert.match(text, /watch_folder_api_auth_failures_total\{reason="credentials"\} 5/)
  assert.match(text, /watch_folder_api_token_rate_limited_total 2/)
  assert.match(text, /watch_folder_api_requests_total\{route="\/api\/buckets\/add",method="POST",status="201"\} 1/)
  assert.match(text, /watch_folder_secret_store_up\{store="embedded"\} 1/)
  assert.match(text, /watch_folder_secret_store_degraded\{store="embedded"\} 0/)
  for (const secret of ['metric-secret-value', CLIENT_SECRET, JWT_SECRET, auth.authorization.slice(7)]) assert.ok(!text.includes(secret))
})
