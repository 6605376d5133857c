import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startApi, acceptKey, CLIENT_ID, CLIENT_SECRET } from './api-harness.ts'

// Rough figures of the API on this machine (inject, real Redis, credential check stubbed):
// printed as test diagnostics, with loose bounds so a slow CI machine does not fail.

test('figures: token issuance, bucket adds, and the status of 300 buckets', async t => {
  const h = await startApi({ checkCredentials: acceptKey('AK') })
  t.after(() => h.close())
  const auth = { authorization: `Bearer ${await h.token()}` }

  let started = performance.now()
  for (let i = 0; i < 200; i++) {
    const res = await h.app.inject({ method: 'POST', url: '/api/auth/token', payload: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET }, remoteAddress: `10.0.${i}.1` })
    assert.equal(res.statusCode, 200)
  }
  const tokensPerSec = 200 / ((performance.now() - started) / 1000)

  started = performance.now()
  for (let i = 0; i < 300; i++) {
    const payload = { name: `fig-${String(i).padStart(3, '0')}`, access_key: 'AK', secret_key: `SK-${i}`, region: 'http://127.0.0.1:9', webhook_url: 'http://127.0.0.1:9/h' }
    assert.equal((await h.app.inject({ method: 'POST', url: '/api/buckets/add', payload, headers: auth })).statusCode, 201)
  }
  const addsPerSec = 300 / ((performance.now() - started) / 1000)

  started = performance.now()
  const status = await h.app.inject({ method: 'GET', url: '/api/bucket-notifications/status', headers: auth })
  const statusMs = performance.now() - started
  assert.equal(status.json().buckets.length, 300)

  t.diagnostic(`tokens issued: ${tokensPerSec.toFixed(0)}/s; bucket adds (lock, secrets, config, publish): ${addsPerSec.toFixed(0)}/s; status of 300 buckets: ${statusMs.toFixed(0)} ms`)
  assert.ok(statusMs < 2000)
})
