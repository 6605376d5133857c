import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { startRedis } from '../../../test/support/redis-server.ts'
import { createRedis, createSubscriber } from '../src/client.ts'

const server = await startRedis()
after(() => server.stop())
const cfg = { sentinel_host: null, sentinel_port: 26379, master_name: 'mymaster', password: null, db: 0, host: '127.0.0.1', port: server.port }

// A SUBSCRIBE issued while ioredis is still in its connection handshake goes out at once; with the
// ready check on, the INFO that follows is refused in subscriber mode and the connection torn down.
async function subscribeDuringHandshake (conn: ReturnType<typeof createRedis>): Promise<string[]> {
  const errors: string[] = []
  conn.on('error', err => errors.push(err.message))
  await new Promise<void>(resolve => conn.once('connect', () => { void conn.subscribe('wf-test').then(() => resolve()) }))
  await new Promise(resolve => setTimeout(resolve, 200))
  conn.disconnect()
  return errors
}

test('a subscriber connection survives a SUBSCRIBE sent during the handshake', async () => {
  assert.deepEqual(await subscribeDuringHandshake(createSubscriber(cfg)), [])
  // The same with an ordinary connection shows the failure the subscriber options avoid.
  assert.match((await subscribeDuringHandshake(createRedis(cfg))).join(), /subscriber mode/)
})
