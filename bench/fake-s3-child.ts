// The benchmark's S3: test/support/fake-s3.ts in a child process, so its CPU is not the
// monitor's. Driven over IPC: seed a bucket with generated objects, or change a few.
import { startFakeS3 } from '../test/support/fake-s3.ts'
import { benchKey } from './bench-keys.ts'

type Message =
  | { type: 'seed', bucket: string, count: number, lastModified: number }
  | { type: 'touch', bucket: string, keys: string[] }
  | { type: 'remove', bucket: string, keys: string[] }

const fake = await startFakeS3()
process.on('message', (m: Message) => {
  if (m.type === 'seed') {
    fake.createBucket(m.bucket)
    fake.seed(m.bucket, (function * () {
      for (let i = 0; i < m.count; i++) yield { key: benchKey(i), size: 256 + (i % 1000), lastModified: m.lastModified }
    })())
  } else if (m.type === 'touch') {
    for (const key of m.keys) fake.put(m.bucket, key, `changed ${Date.now()}`, { contentType: 'application/json', metadata: { bench: '1' } })
  } else {
    for (const key of m.keys) fake.remove(m.bucket, key)
  }
  process.send!({ type: 'done' })
})
process.on('disconnect', () => { void fake.close().then(() => process.exit(0)) })
process.send!({ type: 'ready', endpoint: fake.endpoint })
