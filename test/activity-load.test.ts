// 100 clients on a monitor process's activity stream (99 reading, one never reading) do not
// slow a consumer's deliveries: deliveries per second with them against a baseline measured
// in the same run, in alternating pairs (bench/activity.ts, `npm run bench -- activity`).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runActivityBench } from '../bench/activity.ts'

test('100 activity clients, one never reading, leave deliveries per second at least 0.8 of the baseline', { timeout: 180_000 }, async () => {
  const r = await runActivityBench({ events: 3000, pairs: 5 })
  console.log(`activity load: ratio ${r.ratio} (pairs ${r.ratios.join(', ')}); deliveries/s without ${r.runs.map(x => x.without.per_second).join(', ')}, with ${r.runs.map(x => x.with.per_second).join(', ')}`)
  for (const run of r.runs) {
    assert.equal(run.with.events, 3000)
    // 99 readers, an in_flight and an attempt per delivery; the readers run at the lowest
    // priority and may still be behind when counted, which is their own pace, not the pipeline's.
    assert.ok(run.reader_events >= 0.1 * 99 * 2 * 3000, `the readers were reading (${run.reader_events} events)`)
  }
  assert.ok(r.ratio >= 0.8, `median ratio ${r.ratio} (pairs ${r.ratios.join(', ')})`)
})
