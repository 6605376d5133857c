import { test } from 'node:test'
import assert from 'node:assert/strict'
import { breakerOutcome, parseRetryAfter, type AttemptResult } from '../src/classify.ts'
import { decide, type Decision, type DeliveryPolicy, type Outcome, type SubscriptionView } from '../src/decide.ts'
import { DeliveryCodes, DeliveryError, WebhookTimeoutError } from '../src/errors.ts'
import { configuredSchedule, fixedSchedule, retryDelayMs, type RetrySchedule } from '../src/backoff.ts'
import { ConfigFile, DEFAULT_RETRY_SCHEDULE } from '@internal/config'

const NOW = Date.parse('2026-11-22T00:00:00Z')
const DAY = 86_400_000
const policy: DeliveryPolicy = { schedule: fixedSchedule([5, 300, 1800]), maxRetryAfterMs: 600_000, tokenWaitMs: 10_000, disableAfterMs: 5 * DAY }
const active: SubscriptionView = { disabled: null, failingSinceMs: null }
const refused = (code: typeof DeliveryCodes[keyof typeof DeliveryCodes], retryable: boolean): AttemptResult => ({ error: new Error('wrapped', { cause: new DeliveryError(code, code, { retryable }) }) })
const answered = (status: number, extra: { retryAfter?: string } = {}): Outcome => ({ kind: 'attempted', result: { status, ...extra } })

// [what, outcome, attempt, subscription state, expected decision]; random 0.5 (no jitter).
const cases: Array<[string, Outcome, number, SubscriptionView, Decision]> = [
  ['malformed entry: dead with the reason', { kind: 'malformed', reason: 'not JSON' }, 0, active, { action: 'dead', reason: 'malformed entry: not JSON' }],
  ['taken by no subscription: acknowledged', { kind: 'unrouted' }, 1, active, { action: 'ack', delivered: false }],
  ['circuit open or endpoint full: waits, no attempt spent', { kind: 'held', untilMs: NOW + 7000 }, 1, active, { action: 'wait', untilMs: NOW + 7000 }],
  ['claimed for an active subscription: attempted', { kind: 'claimed' }, 1, active, { action: 'attempt' }],
  ['claimed for a disabled subscription: parked', { kind: 'claimed' }, 1, { disabled: 'operator', failingSinceMs: null }, { action: 'park', reason: 'subscription disabled (operator)' }],
  ['2xx: delivered', answered(204), 1, active, { action: 'ack', delivered: true }],
  ['2xx for a subscription disabled meanwhile: delivered all the same', answered(200), 2, { disabled: 'failing', failingSinceMs: NOW - DAY }, { action: 'ack', delivered: true }],
  ['410: parked, disabling the subscription (gone)', answered(410), 1, active, { action: 'park', reason: 'receiver answered 410', disable: 'gone' }],
  ['other 4xx: refused, dead', answered(404), 1, active, { action: 'dead', reason: 'receiver answered 404' }],
  ['503 after the first attempt: the first wait', answered(503), 1, active, { action: 'retry', atMs: NOW + 5000, failure: true }],
  ['429 after the third: the third wait', answered(429), 3, active, { action: 'retry', atMs: NOW + 1_800_000, failure: true }],
  ['5xx once the schedule is spent: dead', answered(500), 4, active, { action: 'dead', reason: 'gave up after 4 attempts: receiver answered 500' }],
  ['Retry-After honoured', answered(503, { retryAfter: '42' }), 1, active, { action: 'retry', atMs: NOW + 42_000, failure: true }],
  ['Retry-After capped by max_retry_after', answered(503, { retryAfter: '86400' }), 1, active, { action: 'retry', atMs: NOW + 600_000, failure: true }],
  ['timeout: retried', { kind: 'attempted', result: { error: new WebhookTimeoutError(10_000) } }, 1, active, { action: 'retry', atMs: NOW + 5000, failure: true }],
  ['failing just short of disable_after: retried', answered(502), 2, { disabled: null, failingSinceMs: NOW - 5 * DAY + 1 }, { action: 'retry', atMs: NOW + 300_000, failure: true }],
  ['failing for disable_after: parked, disabling (failing)', answered(502), 2, { disabled: null, failingSinceMs: NOW - 5 * DAY }, { action: 'park', reason: 'failing since 2026-11-17T00:00:00.000Z: receiver answered 502', disable: 'failing' }],
  ['a failure for a subscription disabled meanwhile: parked', answered(503), 1, { disabled: 'gone', failingSinceMs: null }, { action: 'park', reason: 'subscription disabled (gone)' }],
  ['refusal for a disabled subscription: still dead', answered(400), 1, { disabled: 'gone', failingSinceMs: null }, { action: 'dead', reason: 'receiver answered 400' }],
  ['token endpoint down: waits (jittered down to half), no attempt spent', { kind: 'attempted', result: refused(DeliveryCodes.TOKEN_UNAVAILABLE, true) }, 1, active, { action: 'wait', untilMs: NOW + 7500 }],
  ['secret store down: retried, not counted as the receiver failing', { kind: 'attempted', result: refused(DeliveryCodes.SECRET_UNAVAILABLE, true) }, 1, { disabled: null, failingSinceMs: NOW - 6 * DAY }, { action: 'retry', atMs: NOW + 5000, failure: false }],
  ['bucket unknown: dead with the code', { kind: 'attempted', result: refused(DeliveryCodes.BUCKET_UNKNOWN, false) }, 1, active, { action: 'dead', reason: 'BUCKET_UNKNOWN: BUCKET_UNKNOWN' }],
  ['address refused: dead', { kind: 'attempted', result: refused(DeliveryCodes.ADDRESS_REFUSED, false) }, 1, active, { action: 'dead', reason: 'ADDRESS_REFUSED: ADDRESS_REFUSED' }]
]

for (const [what, outcome, attempt, sub, expected] of cases) {
  test(`decide: ${what}`, () => {
    assert.deepEqual(decide(outcome, attempt, policy, sub, { nowMs: NOW, random: 0.5 }), expected)
  })
}

test('decide: a network error is retried; the jitter spreads a wait by ±20 %', () => {
  const at = (random: number) => decide({ kind: 'attempted', result: { error: new Error('ECONNREFUSED') } }, 2, policy, active, { nowMs: NOW, random })
  assert.deepEqual(at(0), { action: 'retry', atMs: NOW + 240_000, failure: true })
  assert.deepEqual(at(1), { action: 'retry', atMs: NOW + 360_000, failure: true })
})

test('schedule: the default when nothing is configured; max_retries/backoff_factor keep their exponential meaning; retry_schedule wins', () => {
  const webhook = (w: Record<string, unknown>) => ConfigFile.parse({ webhook: w }).webhook
  assert.deepEqual(configuredSchedule(webhook({}), 1000), { kind: 'fixed', delaysMs: DEFAULT_RETRY_SCHEDULE.map(s => s * 1000) })
  assert.deepEqual(DEFAULT_RETRY_SCHEDULE, [5, 300, 1800, 7200, 18_000, 36_000, 36_000])
  assert.deepEqual(configuredSchedule(webhook({ max_retries: 3 }), 1000), { kind: 'exponential', maxRetries: 3, factor: 2, baseMs: 1000, maxBackoffMs: 3_600_000 })
  assert.deepEqual(configuredSchedule(webhook({ backoff_factor: 3 }), 1000), { kind: 'exponential', maxRetries: 3, factor: 3, baseMs: 1000, maxBackoffMs: 3_600_000 })
  assert.deepEqual(configuredSchedule(webhook({ retry_schedule: [1, 2], max_retries: 9 }), 1000), { kind: 'fixed', delaysMs: [1000, 2000] })
})

test('backoff: the exponential schedule has a growing ceiling with full jitter, capped; attempts beyond max_retries give up', () => {
  const exp: RetrySchedule = { kind: 'exponential', maxRetries: 3, factor: 2, baseMs: 1000, maxBackoffMs: 3000 }
  assert.equal(retryDelayMs(exp, 1, 0.999), 999)
  assert.equal(retryDelayMs(exp, 2, 0.5), 1000)
  assert.equal(retryDelayMs(exp, 3, 0.5), 1500) // capped at maxBackoffMs
  assert.equal(retryDelayMs(exp, 3, 0), 0)
  assert.equal(retryDelayMs(exp, 4, 0.5), undefined)
})

test('parseRetryAfter reads delay-seconds and HTTP dates, ignores what it cannot read and never goes negative', () => {
  assert.equal(parseRetryAfter('7', NOW), 7000)
  assert.equal(parseRetryAfter('Sun, 22 Nov 2026 00:00:30 GMT', NOW), 30_000)
  assert.equal(parseRetryAfter(undefined, NOW), undefined)
  assert.equal(parseRetryAfter('soon', NOW), undefined)
  assert.equal(parseRetryAfter('Sat, 21 Nov 2026 00:00:00 GMT', NOW), 0)
})

test('the breaker counts the receiver\'s own failures only', () => {
  assert.equal(breakerOutcome({ error: new WebhookTimeoutError(10_000) }), false)
  assert.equal(breakerOutcome(refused(DeliveryCodes.TOKEN_UNAVAILABLE, true)), undefined)
  assert.equal(breakerOutcome({ status: 503 }), false)
  assert.equal(breakerOutcome({ status: 404 }), true)
})

test('a first attempt gets a request_id derived from the entry: stable across a crash and a redelivery', async () => {
  const { requestIdFor } = await import('../src/handle.ts')
  const id = requestIdFor('{"event_id":"e1"}')
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  assert.equal(requestIdFor('{"event_id":"e1"}'), id)
  assert.notEqual(requestIdFor('{"event_id":"e2"}'), id)
})
