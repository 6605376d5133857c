import { test } from 'node:test'
import assert from 'node:assert/strict'
import { breakerOutcome, classify, parseRetryAfter } from '../src/classify.ts'
import { DeliveryCodes, DeliveryError, WebhookTimeoutError } from '../src/errors.ts'
import { planRetry, retryDelayMs, type RetryPolicy } from '../src/backoff.ts'

test('classify: 2xx delivered; errors, 408, 429, 5xx retry; other 4xx dead; 410 gone', () => {
  const now = Date.parse('2026-11-22T00:00:00Z')
  for (const status of [200, 201, 204, 299]) assert.deepEqual(classify({ status }, now), { kind: 'delivered' })
  for (const status of [408, 429, 500, 502, 503, 504, 599]) assert.deepEqual(classify({ status }, now), { kind: 'retry' })
  assert.deepEqual(classify({ error: new Error('ECONNREFUSED') }, now), { kind: 'retry' })
  for (const status of [400, 401, 403, 404, 409, 422, 301, 304]) assert.deepEqual(classify({ status }, now), { kind: 'dead', gone: false })
  assert.deepEqual(classify({ status: 410 }, now), { kind: 'dead', gone: true })
  assert.deepEqual(classify({ status: 429, retryAfter: '7' }, now), { kind: 'retry', retryAfterMs: 7000 })
  assert.deepEqual(classify({ status: 503, retryAfter: 'Sun, 22 Nov 2026 00:00:30 GMT' }, now), { kind: 'retry', retryAfterMs: 30_000 })
})

test('classify: a delivery that could not be attempted decides by its code; the breaker counts the receiver\'s own failures only', () => {
  const now = Date.parse('2026-11-22T00:00:00Z')
  const refused = (code: typeof DeliveryCodes[keyof typeof DeliveryCodes], retryable: boolean) => ({ error: new Error('wrapped', { cause: new DeliveryError(code, code, { retryable }) }) })
  assert.deepEqual(classify(refused(DeliveryCodes.BUCKET_UNKNOWN, false), now), { kind: 'dead', gone: false })
  assert.deepEqual(classify(refused(DeliveryCodes.ADDRESS_REFUSED, false), now), { kind: 'dead', gone: false })
  assert.deepEqual(classify(refused(DeliveryCodes.SECRET_UNAVAILABLE, true), now), { kind: 'retry' })
  assert.deepEqual(classify(refused(DeliveryCodes.TOKEN_UNAVAILABLE, true), now), { kind: 'wait' })
  assert.deepEqual(classify({ error: new WebhookTimeoutError(10_000) }, now), { kind: 'retry' })
  assert.equal(breakerOutcome({ error: new WebhookTimeoutError(10_000) }), false)
  assert.equal(breakerOutcome(refused(DeliveryCodes.TOKEN_UNAVAILABLE, true)), undefined)
  assert.equal(breakerOutcome({ status: 503 }), false)
  assert.equal(breakerOutcome({ status: 404 }), true)
})

test('parseRetryAfter ignores what it cannot read and never goes negative', () => {
  const now = Date.parse('2026-11-22T00:00:00Z')
  assert.equal(parseRetryAfter(undefined, now), undefined)
  assert.equal(parseRetryAfter('soon', now), undefined)
  assert.equal(parseRetryAfter('Sat, 21 Nov 2026 00:00:00 GMT', now), 0)
})

const policy: RetryPolicy = { maxRetries: 3, factor: 2, baseMs: 1000, maxBackoffMs: 5000, maxRetryAfterMs: 60_000 }

test('backoff: exponential ceiling with full jitter, capped', () => {
  assert.equal(retryDelayMs(1, policy, () => 0.999), 999)
  assert.equal(retryDelayMs(2, policy, () => 0.5), 1000)
  assert.equal(retryDelayMs(3, policy, () => 0.5), 2000)
  assert.equal(retryDelayMs(10, policy, () => 0.5), 2500) // capped at maxBackoffMs
  assert.equal(retryDelayMs(3, policy, () => 0), 0)
})

test('planRetry: original defaults give 4 attempts; Retry-After honoured up to the cap', () => {
  assert.deepEqual(planRetry(1, undefined, policy, () => 0.5), { retry: true, delayMs: 500 })
  assert.equal(planRetry(3, undefined, policy, () => 0.5).retry, true)
  assert.deepEqual(planRetry(4, undefined, policy, () => 0.5), { retry: false })
  assert.deepEqual(planRetry(1, 120_000, policy, () => 0.5), { retry: true, delayMs: 60_000 })
  assert.deepEqual(planRetry(1, 2000, policy, () => 0.5), { retry: true, delayMs: 2000 })
})

test('a first attempt gets a request_id derived from the entry: stable across a crash and a redelivery', async () => {
  const { requestIdFor } = await import('../src/handle.ts')
  const id = requestIdFor('{"event_id":"e1"}')
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  assert.equal(requestIdFor('{"event_id":"e1"}'), id)
  assert.notEqual(requestIdFor('{"event_id":"e2"}'), id)
})
