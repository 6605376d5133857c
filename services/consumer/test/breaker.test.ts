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
  const slots = createEndpointSlots({ maxPerEndpoint: 2, minDeferMs: 10, maxDeferMs: 1000 })
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

test('endpoint slots: endpoints that fill the pool one after another still leave a slot for each other known endpoint', () => {
  const slots = createEndpointSlots({ maxPerEndpoint: 10, poolSize: () => 20, knownEndpoints: () => 4 })
  const take = (endpoint: string) => { let n = 0; while (slots.tryAcquire(endpoint)) n++; return n }
  const held = ['drip-1', 'drip-2', 'hang'].map(take)
  assert.ok(held.every(n => n >= 1), `held ${held}`)
  assert.ok(held[0]! <= 10, 'never more than max_per_endpoint')
  assert.equal(take('healthy') >= 1, true, 'the healthy endpoint finds a slot')
  slots.release('drip-1')
  assert.equal(slots.tryAcquire('drip-1'), false, 'an endpoint above its share of four busy endpoints waits')
  assert.equal(slots.tryAcquire('healthy'), true)
})

test('endpoint slots: a lone endpoint keeps max_per_endpoint, and endpoints busy together share the pool', () => {
  const slots = createEndpointSlots({ maxPerEndpoint: 10, poolSize: () => 20, knownEndpoints: () => 1 })
  for (let i = 0; i < 10; i++) assert.equal(slots.tryAcquire('a'), true)
  assert.equal(slots.tryAcquire('a'), false)
  const shared = createEndpointSlots({ maxPerEndpoint: 20, poolSize: () => 20, knownEndpoints: () => 2 })
  for (let i = 0; i < 10; i++) { shared.tryAcquire('a'); shared.tryAcquire('b') }
  assert.equal(shared.inFlight('a'), 10)
  assert.equal(shared.inFlight('b'), 10)
})

test('pruning forgets the circuits of endpoints no longer in use and keeps the others as they were', () => {
  const { breakers } = setup()
  for (let i = 0; i < 3; i++) { breakers.record('gone', false); breakers.record('kept', false) }
  assert.deepEqual(breakers.prune(new Set(['kept'])), ['gone'])
  assert.equal(breakers.state('kept'), 'open')
  assert.equal(breakers.state('gone'), 'closed', 'a pruned endpoint starts afresh')
  const slots = createEndpointSlots({ maxPerEndpoint: 2, minDeferMs: 10, maxDeferMs: 1000 })
  slots.tryAcquire('gone'); slots.release('gone', 500)
  slots.tryAcquire('busy'); slots.release('busy', 500); slots.tryAcquire('busy')
  slots.prune(new Set())
  assert.equal(slots.deferMs('gone', () => 0.5), 10, 'timings of an idle endpoint dropped')
  assert.equal(slots.deferMs('busy', () => 0.5), 500, 'an endpoint holding a slot keeps its timings')
})

test('endpoint slots: a full endpoint none of whose slots has freed for a while defers for that long', () => {
  let t = 0
  const slots = createEndpointSlots({ maxPerEndpoint: 1, minDeferMs: 50, maxDeferMs: 2000, now: () => t })
  slots.tryAcquire('hung')
  t += 1500
  assert.equal(slots.deferMs('hung', () => 0.5), 1500)
  t += 5000
  assert.equal(slots.deferMs('hung', () => 0.5), 2000, 'capped')
})
