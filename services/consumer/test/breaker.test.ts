import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createBreakers, type BreakerState } from '../src/breaker.ts'
import { createEndpointSlots } from '../src/endpoint-slots.ts'

function setup () {
  let t = 1_000_000
  const changes: Array<[string, BreakerState]> = []
  const breakers = createBreakers({ threshold: 3, resetMs: 60_000, now: () => t, onStateChange: (e, s) => changes.push([e, s]) })
  return { breakers, changes, advance: (ms: number) => { t += ms }, now: () => t }
}

test('opens after threshold consecutive failures; other endpoints unaffected', () => {
  const { breakers, changes, now } = setup()
  for (let i = 0; i < 2; i++) { assert.equal(breakers.admit('a').allowed, true); breakers.record('a', false) }
  breakers.record('a', true) // a success resets the count
  for (let i = 0; i < 3; i++) { breakers.admit('a'); breakers.record('a', false) }
  assert.equal(breakers.state('a'), 'open')
  assert.deepEqual(breakers.admit('a'), { allowed: false, retryAtMs: now() + 60_000 })
  assert.equal(breakers.admit('b').allowed, true)
  assert.deepEqual(changes, [['a', 'open']])
})

test('half-opens after the reset time: one probe; success closes, failure reopens', () => {
  const { breakers, changes, advance, now } = setup()
  for (let i = 0; i < 3; i++) breakers.record('a', false)
  advance(60_000)
  assert.equal(breakers.state('a'), 'half_open')
  assert.equal(breakers.admit('a').allowed, true)
  const second = breakers.admit('a')
  assert.equal(second.allowed, false)
  breakers.record('a', false)
  assert.equal(breakers.state('a'), 'open')
  assert.deepEqual(breakers.admit('a'), { allowed: false, retryAtMs: now() + 60_000 })
  advance(60_000)
  assert.equal(breakers.admit('a').allowed, true)
  breakers.record('a', true)
  assert.equal(breakers.state('a'), 'closed')
  assert.deepEqual(changes.map(c => c[1]), ['open', 'half_open', 'open', 'half_open', 'closed'])
})

test('a probe that made no call frees the half-open slot without a verdict', () => {
  const { breakers, advance } = setup()
  for (let i = 0; i < 3; i++) breakers.record('a', false)
  advance(60_000)
  assert.equal(breakers.admit('a').allowed, true)
  breakers.record('a', undefined)
  assert.equal(breakers.admit('a').allowed, true)
})

test('endpoint slots cap concurrency per endpoint and defer about one typical delivery', () => {
  const slots = createEndpointSlots(2, { minDeferMs: 10, maxDeferMs: 1000 })
  assert.equal(slots.tryAcquire('a'), true)
  assert.equal(slots.tryAcquire('a'), true)
  assert.equal(slots.tryAcquire('a'), false)
  assert.equal(slots.tryAcquire('b'), true)
  slots.release('a', 400)
  assert.equal(slots.inFlight('a'), 1)
  assert.equal(slots.tryAcquire('a'), true)
  assert.equal(slots.deferMs('a', () => 0.5), 400)
  assert.equal(slots.deferMs('unknown', () => 0.5), 10)
})
