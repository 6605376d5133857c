import { randomUUID } from 'node:crypto'
import { Agent, request } from 'undici'
import { z } from 'zod'
import {
  decodeSigningSecrets, endpointHost, endpointUrl, guardedLookup, subscriptionSecretName, type Bucket, type NetworkPolicy, type Subscription
} from '@internal/buckets'
import { formatWebhook, signingKey, webhookHeaders } from '@internal/events'
import type { Config } from '@internal/config'
import type { CachedSecretStore } from '@internal/buckets'

export interface TestResult { delivered: boolean, status: number | null, duration_ms: number, error?: string }

export interface SubscriptionTester {
  send (bucket: Bucket, sub: Subscription): Promise<TestResult>
  close (): Promise<void>
}

const TokenAnswer = z.object({ access_token: z.string().min(1) })

/**
 * Sends a test event (`event_type: test`, never queued, never dead-lettered) to one
 * subscription now, in its format, signed and authorised as its deliveries are, through the
 * same network guard; answers with the receiver's status.
 */
export function createSubscriptionTester (config: Config, policy: NetworkPolicy, secrets: CachedSecretStore, now: () => number = Date.now): SubscriptionTester {
  const timeoutMs = config.webhook.timeout * 1000
  const agent = new Agent({ connect: { timeout: Math.min(timeoutMs, 5000), lookup: guardedLookup(policy) } })
  const post = (url: string, headers: Record<string, string>, body: string) =>
    request(url, { method: 'POST', dispatcher: agent, headers, body, signal: AbortSignal.timeout(timeoutMs) })

  // As the consumer: a subscription's own client, or for a default that inherits webhook.url the config's oauth section.
  async function credentials (bucket: Bucket, sub: Subscription) {
    if (sub.inherited) {
      const o = config.oauth
      return o.token_url && o.client_id && o.client_secret ? { token_url: o.token_url, client_id: o.client_id, scope: o.scope, secret: o.client_secret } : undefined
    }
    if (!sub.webhook_auth) return undefined
    const secret = await secrets.get(subscriptionSecretName(bucket.name, sub.id, 'WEBHOOK_CLIENT_SECRET'))
    if (!secret) throw new Error('no OAuth client secret stored for this subscription')
    return { ...sub.webhook_auth, secret }
  }

  async function token (bucket: Bucket, sub: Subscription): Promise<string | undefined> {
    const auth = await credentials(bucket, sub)
    if (!auth) return undefined
    const form = new URLSearchParams({ grant_type: 'client_credentials', ...(auth.scope && { scope: auth.scope }) })
    const basic = Buffer.from(`${encodeURIComponent(auth.client_id)}:${encodeURIComponent(auth.secret)}`).toString('base64')
    const res = await post(auth.token_url, { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` }, form.toString())
    const text = await res.body.text()
    if (res.statusCode !== 200) throw new Error(`token endpoint answered ${res.statusCode}`)
    return TokenAnswer.parse(JSON.parse(text)).access_token
  }

  async function send (bucket: Bucket, sub: Subscription): Promise<TestResult> {
    const started = now()
    try {
      const signing = decodeSigningSecrets(await secrets.get(subscriptionSecretName(bucket.name, sub.id, 'SIGNING_SECRET'))).map(signingKey)
      const fields = testEvent(bucket, now())
      const original = JSON.stringify(fields)
      const ctx = { subscription: sub.id, awsRegion: bucket.signing_region ?? config.defaults.signing_region, source: `${endpointUrl(bucket.endpoint)}/${bucket.name}` }
      const { body, headers } = formatWebhook(sub.format, original, fields, ctx)
      const base = { requestId: fields.request_id, bucket: bucket.name, eventType: 'test', eventId: fields.event_id, userAgent: config.webhook.user_agent, signingKeys: signing, token: await token(bucket, sub) }
      const res = await post(sub.webhook_url, { ...webhookHeaders(base, body, now()), ...headers }, body)
      await res.body.dump({ limit: 64 * 1024 }).catch(() => {})
      return { delivered: res.statusCode >= 200 && res.statusCode < 300, status: res.statusCode, duration_ms: now() - started }
    } catch (err) {
      return { delivered: false, status: null, duration_ms: now() - started, error: describe(err) }
    }
  }

  return { send, close: () => agent.close() }
}

function describe (err: unknown): string {
  const e = err as Error & { code?: string }
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'the receiver did not answer within webhook.timeout'
  return e.code ? `${e.code}: ${e.message}` : e.message
}

function testEvent (bucket: Bucket, nowMs: number) {
  const sec = nowMs / 1000
  return {
    event_id: randomUUID().replaceAll('-', ''),
    bucket: bucket.name,
    key: 'watch-folder-test-event',
    region: endpointHost(bucket.endpoint),
    etag: '',
    size: 0,
    last_modified: sec,
    event_type: 'test',
    content_type: 'application/octet-stream',
    metadata: {},
    detection_time: sec,
    is_recent: true,
    retry_count: 1,
    request_id: randomUUID(),
    delivery_attempt_time: new Date(nowMs).toISOString()
  }
}
