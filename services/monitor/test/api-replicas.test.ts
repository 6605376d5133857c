import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { bucketSecretNames } from '@internal/buckets'
import { startApi, acceptKey, type Harness } from './api-harness.ts'
import { waitFor } from '../../../test/support/ports.ts'

// Two API replicas on one Redis: what one changes, the other sees within a second, and the
// exists/missing checks agree (a change made on one replica is seen by every other at once).

let one: Harness
let two: Harness
before(async () => {
  const secretsKey = randomBytes(32)
  one = await startApi({ checkCredentials: acceptKey('AK'), secretsKey })
  two = await startApi({ checkCredentials: acceptKey('AK'), secretsKey, server: one.server })
})
after(async () => { await two.close(); await one.close() })

const post = async (h: Harness, url: string, payload?: unknown) =>
  await h.app.inject({ method: 'POST', url, payload: payload as any, headers: { authorization: `Bearer ${await h.token()}` } })
const body = (name: string) => ({ name, access_key: 'AK', secret_key: 'SK-1', region: 'http://127.0.0.1:9', webhook_url: 'http://127.0.0.1:9/a' })

test('an add on one replica is a 409 on the other at once; concurrent adds: exactly one wins', async () => {
  assert.equal((await post(one, '/api/buckets/add', body('shared-1'))).statusCode, 201)
  assert.equal((await post(two, '/api/buckets/add', body('shared-1'))).statusCode, 409)
  const both = await Promise.all([post(one, '/api/buckets/add', body('race-1')), post(two, '/api/buckets/add', body('race-1'))])
  assert.deepEqual(both.map(r => r.statusCode).sort(), [201, 409])
})

test('an update or rotation on one replica reaches the other replica within a second, secrets included', async () => {
  assert.equal((await post(one, '/api/buckets/add', body('live-1'))).statusCode, 201)
  await waitFor(() => two.registry.get('live-1') !== undefined, { timeoutMs: 1000, what: 'replica two sees the add' })
  const names = bucketSecretNames('live-1')
  assert.equal(await two.secrets.get(names.SECRET_KEY), 'SK-1') // now cached on replica two
  const started = Date.now()
  assert.equal((await post(one, '/api/buckets/update', { name: 'live-1', access_key: 'AK', secret_key: 'SK-2', webhook_url: 'http://127.0.0.1:9/b' })).statusCode, 200)
  await waitFor(() => two.registry.get('live-1')?.webhook_url === 'http://127.0.0.1:9/b', { timeoutMs: 1000, what: 'replica two sees the update' })
  assert.equal(await two.secrets.get(names.SECRET_KEY), 'SK-2', 'the rotated secret is read fresh, not from the cache')
  assert.ok(Date.now() - started < 1000)
  assert.equal((await post(two, '/api/buckets/delete?bucket=live-1')).statusCode, 200)
  await waitFor(() => one.registry.get('live-1') === undefined, { timeoutMs: 1000, what: 'replica one sees the delete' })
  assert.equal((await post(one, '/api/buckets/update', { name: 'live-1', webhook_url: 'http://127.0.0.1:9/c' })).statusCode, 404)
})
