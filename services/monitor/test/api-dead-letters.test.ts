import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { deadLetterRecord } from '@internal/redis'
import { startApi, acceptKey, type Harness } from './api-harness.ts'

let h: Harness
let write: Record<string, string>
let read: Record<string, string>
before(async () => {
  h = await startApi({ checkCredentials: acceptKey('AK') })
  write = { authorization: `Bearer ${await h.token('write')}` }
  read = { authorization: `Bearer ${await h.token('read')}` }
})
after(async () => { await h.close() })

const post = (url: string, payload?: unknown) => h.app.inject({ method: 'POST', url, payload: payload as any, headers: write })
const get = (url: string) => h.app.inject({ method: 'GET', url, headers: read })

test('dead letters: list with paging, replay one, some, all, purge', async () => {
  for (let i = 0; i < 5; i++) {
    const record = deadLetterRecord(JSON.stringify({ event_id: `e${i}`, bucket: 'photos-1', key: `k${i}`, retry_count: 3 }), { reason: 'HTTP 400', attempts: 1, last_status: 400, response_excerpt: 'bad' }, new Date(), `id-${i}`)
    await h.redis.lpush(h.keys.deadLetter, JSON.stringify(record))
  }
  const page = await get('/api/dead-letters?offset=1&limit=2')
  assert.equal(page.statusCode, 200)
  assert.equal(page.json().total, 5)
  assert.deepEqual(page.json().items.map((r: { id: string }) => r.id), ['id-3', 'id-2'])
  assert.equal((await get('/api/dead-letters?limit=0')).statusCode, 400)
  assert.equal((await get('/api/dead-letters?colour=red')).statusCode, 400)
  assert.deepEqual((await post('/api/dead-letters/id-4/replay')).json(), { status: 'success', count: 1 })
  assert.equal((await post('/api/dead-letters/id-4/replay')).statusCode, 404)
  assert.deepEqual((await post('/api/dead-letters/replay', { ids: ['id-0', 'id-1'] })).json(), { status: 'success', count: 2 })
  assert.equal(await h.redis.llen(h.keys.queue), 3)
  assert.equal(JSON.parse((await h.redis.lindex(h.keys.queue, 0))!).retry_count, 0)
  assert.deepEqual((await post('/api/dead-letters/purge', { ids: ['id-2'] })).json(), { status: 'success', count: 1 })
  assert.equal((await post('/api/dead-letters/replay', {})).statusCode, 400)
  assert.deepEqual((await post('/api/dead-letters/replay', { all: true })).json(), { status: 'success', count: 1 })
  await h.redis.lpush(h.keys.deadLetter, JSON.stringify(deadLetterRecord('x', { reason: 'r', attempts: 0, last_status: null, response_excerpt: null }, new Date(), 'id-9')))
  assert.deepEqual((await post('/api/dead-letters/purge', { all: true })).json(), { status: 'success', count: 1 })
  assert.equal(await h.redis.llen(h.keys.deadLetter), 0)
})
