import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createNetworkPolicy } from '@internal/buckets'
import { createNetworkGuard } from '../src/api/index.ts'

const dns: Record<string, string[]> = {
  'public.example': ['93.184.216.34'],
  'mixed.example': ['93.184.216.34', '10.0.0.8'],
  'v6.example': ['2606:2800:220:1::1'],
  'v6-private.example': ['fd00::1'],
  'metadata.example': ['169.254.169.254']
}
const lookup = async (host: string) => {
  const found = dns[host]
  if (!found) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' })
  return found
}

test('the guard refuses loopback, link-local, private and mixed answers; allowed_networks opens a range', async () => {
  const guard = createNetworkGuard(createNetworkPolicy([]), lookup)
  const refused = ['http://127.0.0.1/x', 'http://localhost.invalid/x', 'http://[::1]/x', 'http://[::ffff:10.0.0.1]/x', 'http://169.254.169.254/latest',
    'http://mixed.example/x', 'http://v6-private.example/x', 'http://metadata.example/x', 'http://0.0.0.0/x', 'http://100.64.0.1/x', 'http://192.168.1.1/x', 'http://172.16.5.5/x']
  for (const url of refused) assert.ok(await guard.checkUrl(url), `${url} should be refused`)
  for (const url of ['https://public.example/hook', 'https://v6.example/hook', 'https://93.184.216.34/x']) assert.equal(await guard.checkUrl(url), undefined, url)
  const open = createNetworkGuard(createNetworkPolicy(['10.0.0.0/8']), lookup)
  assert.equal(await open.checkUrl('http://mixed.example/x'), undefined)
  assert.ok(await open.checkUrl('http://127.0.0.1/x'))
})

test('a bucket is checked on its endpoint (a bare host means https), webhook URL and token URL', async () => {
  const guard = createNetworkGuard(createNetworkPolicy([]), lookup)
  assert.deepEqual(await guard.checkBucket({ endpoint: 'public.example', webhook_url: 'https://public.example/h', webhook_auth: { type: 'oauth2', client_id: 'c', token_url: 'https://public.example/t' } }), [])
  const problems = await guard.checkBucket({ endpoint: 'mixed.example', webhook_url: 'http://10.1.1.1/h', webhook_auth: { type: 'oauth2', client_id: 'c', token_url: 'http://metadata.example/t' } })
  assert.deepEqual(problems.map(p => p.field), ['endpoint', 'webhook_url', 'token_url'])
})
