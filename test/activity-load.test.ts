// 100 clients on a monitor process's activity stream (99 reading, one never reading) while a
// consumer delivers: every delivery still happens and the readers get the stream. How much
// they cost in deliveries per second is the benchmark's to measure (`npm run bench -- activity`,
// alternating pairs against a baseline in the same run), not a timed test's.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runActivityBench } from '../bench/activity.ts'

test('100 activity clients, one never reading, while a consumer delivers: every event delivered, the readers get the stream', { timeout: 180_000 }, async (t) => {
  const r = await runActivityBench({ events: 3000, pairs: 1 })
  t.diagnostic(`deliveries/s without the clients ${r.runs.map(x => x.without.per_second).join(', ')}, with ${r.runs.map(x => x.with.per_second).join(', ')} (one pair on a shared machine: see the benchmark for the ratio)`)
  for (const run of r.runs) {
    assert.equal(run.without.events, 3000)
    assert.equal(run.with.events, 3000)
    // 99 readers, an in_flight and an attempt per delivery; the readers run at the lowest
    // priority and may still be behind when counted, which is their own pace, not the pipeline's.
    assert.ok(run.reader_events >= 0.1 * 99 * 2 * 3000, `the readers were reading (${run.reader_events} events)`)
  }
})
