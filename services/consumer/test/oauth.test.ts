import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { OAuth2Server } from 'oauth2-mock-server'
import { createNetworkPolicy } from '@internal/buckets'
import { startReceiver, type Receiver } from '../../../test/support/receiver.ts'
import { createGuardedAgent } from '../src/network-guard.ts'
import { createTokenSource, type ClientCredentials } from '../src/oauth.ts'
import { sendWithAuth } from '../src/send.ts'
import { postWebhook, type WebhookRequest } from '../src/deliver.ts'
import { findDeliveryError } from '../src/errors.ts'

const policy = createNetworkPolicy(['127.0.0.0/8'])
const agent = createGuardedAgent(policy, { connectTimeoutMs: 1000, connectionsPerOrigin: 8 })
let oauth: OAuth2Server
let receiver: Receiver
let creds: ClientCredentials
const tokenRequests: Array<{ auth: string | undefined, body: string }> = []

before(async () => {
  oauth = new OAuth2Server()
  await oauth.issuer.keys.generate('RS256')
  await oauth.start(0, '127.0.0.1')
  const { port } = oauth.address()
  oauth.issuer.url = `http://127.0.0.1:${port}`
  // Tokens minted within one second are otherwise identical; a jti tells them apart.
  oauth.service.on('beforeTokenSigning', (token: any) => { token.payload.jti = randomUUID() })
  oauth.service.on('beforeResponse', (_res: unknown, req: any) => {
    if (req.url?.startsWith('/token')) tokenRequests.push({ auth: req.headers.authorization, body: new URLSearchParams(req.body).toString() })
  })
  creds = { tokenUrl: `${oauth.issuer.url}/token`, clientId: 'hook-client', clientSecret: 's3cr3t-value', scope: 'hooks' }
  receiver = await startReceiver()
})
after(async () => { await receiver.close(); await oauth.stop(); await agent.close() })

function source (clock = { t: 1_000_000 }) {
  const fetches: string[] = []
  const tokens = createTokenSource({ dispatcher: agent, policy, timeoutMs: 2000, now: () => clock.t, onFetch: r => fetches.push(r) })
  return { tokens, fetches, clock }
}

test('client credentials: Basic auth, form grant with scope; cached; one request for many waiters', async () => {
  const { tokens, fetches } = source()
  tokenRequests.length = 0
  const all = await Promise.all(Array.from({ length: 20 }, () => tokens.get(creds)))
  assert.equal(new Set(all).size, 1)
  assert.equal(await tokens.get(creds), all[0])
  assert.deepEqual(fetches, ['ok'])
  assert.equal(tokenRequests.length, 1)
  assert.equal(tokenRequests[0]?.auth, `Basic ${Buffer.from('hook-client:s3cr3t-value').toString('base64')}`)
  assert.match(tokenRequests[0]?.body ?? '', /grant_type=client_credentials/)
  assert.match(tokenRequests[0]?.body ?? '', /scope=hooks/)
})

test('a token is refreshed shortly before it expires (injected clock)', async () => {
  const { tokens, fetches, clock } = source()
  const first = await tokens.get(creds) // expires_in 3600: refreshed 60 s early
  clock.t += 3_539_000
  assert.equal(await tokens.get(creds), first)
  clock.t += 2000
  const second = await tokens.get(creds)
  assert.notEqual(second, first)
  assert.deepEqual(fetches, ['ok', 'ok'])
})

test('a 401 from the receiver drops the token, fetches a new one and retries once', async () => {
  const { tokens, fetches } = source()
  const revoked = await tokens.get(creds)
  receiver.respond = (req, res) => { res.statusCode = req.headers.authorization === `Bearer ${revoked}` ? 401 : 200; res.end() }
  const req: WebhookRequest = { url: new URL(receiver.url), fields: { event_id: 'e' }, eventId: 'e', bucket: 'b', eventType: 'created', attempt: 1, requestId: 'r' }
  const post = (r: WebhookRequest) => postWebhook(r, { dispatcher: agent, policy, timeoutMs: 2000, userAgent: 'ua', now: Date.now })
  const before = receiver.requests.length
  const result = await sendWithAuth(req, creds, tokens, post)
  assert.ok('status' in result && result.status === 200)
  assert.equal(receiver.requests.length - before, 2)
  assert.notEqual(receiver.requests.at(-1)!.headers.authorization, `Bearer ${revoked}`)
  assert.deepEqual(fetches, ['ok', 'ok'])
  // a receiver that refuses every token: exactly one retry, then the 401 stands
  receiver.respond = (_req, res) => { res.statusCode = 401; res.end() }
  const refused = await sendWithAuth(req, creds, tokens, post)
  assert.ok('status' in refused && refused.status === 401)
  receiver.respond = (_req, res) => { res.statusCode = 200; res.end() }
})

test('a token endpoint refusing the client is a retryable TOKEN_FAILED error, an outage TOKEN_UNAVAILABLE; the secret is in neither message', async () => {
  const { tokens, fetches } = source()
  oauth.service.once('beforeResponse', (res: any) => { res.statusCode = 401; res.body = { error: 'invalid_client' } })
  await assert.rejects(tokens.get(creds), (err: Error) => {
    const known = findDeliveryError(err)
    assert.equal(known?.code, 'TOKEN_FAILED')
    assert.equal(known?.retryable, true)
    assert.ok(!err.message.includes('s3cr3t'))
    return true
  })
  assert.deepEqual(fetches, ['error'])
  const down = createTokenSource({ dispatcher: agent, policy, timeoutMs: 500, now: Date.now })
  // No answer at all is an outage: the event waits without spending attempts (TOKEN_UNAVAILABLE), as do 5xx, 408 and 429.
  await assert.rejects(down.get({ ...creds, tokenUrl: 'http://127.0.0.1:1/token' }), (err: Error) => findDeliveryError(err)?.code === 'TOKEN_UNAVAILABLE' && findDeliveryError(err)?.retryable === true)
  oauth.service.once('beforeResponse', (res: any) => { res.statusCode = 503; res.body = { error: 'temporarily_unavailable' } })
  await assert.rejects(tokens.get(creds), (err: Error) => findDeliveryError(err)?.code === 'TOKEN_UNAVAILABLE')
})

test('SSRF: a token URL resolving to a refused address is ADDRESS_REFUSED, not retried', async () => {
  const strict = createNetworkPolicy([])
  const strictAgent = createGuardedAgent(strict, { connectTimeoutMs: 1000, connectionsPerOrigin: 1 })
  const guarded = createTokenSource({ dispatcher: strictAgent, policy: strict, timeoutMs: 1000, now: Date.now })
  for (const tokenUrl of [creds.tokenUrl, creds.tokenUrl.replace('127.0.0.1', 'localhost')]) {
    await assert.rejects(guarded.get({ ...creds, tokenUrl }), (err: Error) => {
      const known = findDeliveryError(err)
      return known?.code === 'ADDRESS_REFUSED' && known.retryable === false
    })
  }
  await strictAgent.close()
})

test('a token endpoint that streams an endless answer fails the fetch (retryable) instead of filling memory', async (t) => {
  const endless = await startReceiver('/token')
  t.after(() => endless.close())
  const chunk = Buffer.alloc(64 * 1024, 'x')
  let sent = 0
  endless.respond = (_req, res) => new Promise<void>(resolve => {
    res.writeHead(200, { 'content-type': 'application/json' })
    const timer = setInterval(() => {
      if (res.destroyed || sent > 512 * 1024 * 1024) { clearInterval(timer); res.destroy(); return resolve() }
      res.write(chunk)
      sent += chunk.length
    }, 1)
    res.on('close', () => { clearInterval(timer); resolve() })
  })
  const { tokens, fetches } = source()
  const started = Date.now()
  const err = await tokens.get({ ...creds, tokenUrl: endless.url }).then(() => undefined, (e: unknown) => e)
  assert.equal(findDeliveryError(err)?.code, 'TOKEN_FAILED')
  assert.equal(findDeliveryError(err)?.retryable, true)
  assert.deepEqual(fetches, ['error'])
  assert.ok(sent < 8 * 1024 * 1024, `read ${sent} bytes`)
  assert.ok(Date.now() - started < 5000)
})
