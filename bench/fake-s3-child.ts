// The benchmark's S3: test/support/fake-s3.ts in a child process, so its CPU is not the
// monitor's. Driven over IPC: seed a bucket with generated objects, change a few, set the
// per-request latency; every answer carries the request counters.
import { startFakeS3 } from '../test/support/fake-s3.ts'
import { benchKey } from './bench-keys.ts'

type Message =
  | { type: 'seed', bucket: string, count: number, lastModified: number }
  | { type: 'touch', bucket: string, keys: string[] }
  | { type: 'remove', bucket: string, keys: string[] }
  | { type: 'add', bucket: string, keys: string[], lastModified: number }
  | { type: 'latency', ms: number }
  | { type: 'counts' }

const fake = await startFakeS3()
process.on('message', (m: Message) => {
  if (m.type === 'seed') {
    fake.createBucket(m.bucket)
    fake.seed(m.bucket, (function * () {
      for (let i = 0; i < m.count; i++) yield { key: benchKey(i), size: 256 + (i % 1000), lastModified: m.lastModified }
    })())
  } else if (m.type === 'touch') {
    for (const key of m.keys) fake.put(m.bucket, key, `changed ${Date.now()}`, { contentType: 'application/json', metadata: { bench: '1' } })
  } else if (m.type === 'add') {
    // One by one into the sorted key list: a bulk seed would re-sort the whole bucket at the next listing, inside the scan measured.
    for (const key of m.keys) fake.put(m.bucket, key, key, { lastModified: m.lastModified })
  } else if (m.type === 'latency') {
    fake.latencyMs = m.ms
  } else if (m.type === 'remove') {
    for (const key of m.keys) fake.remove(m.bucket, key)
  }
  const cpu = process.cpuUsage()
  process.send!({ type: 'done', counts: fake.counts, cpuMs: (cpu.user + cpu.system) / 1000 })
})
process.on('disconnect', () => { void fake.close().then(() => process.exit(0)) })
process.send!({ type: 'ready', endpoint: fake.endpoint })
