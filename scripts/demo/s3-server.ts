// The demo's local S3 server: the in-memory fake S3 of the tests (test/support/fake-s3.ts)
// with one bucket. Writes its endpoint to the file given as the first argument, then runs
// until it gets SIGINT or SIGTERM.
import { writeFileSync } from 'node:fs'
import { startFakeS3 } from '../../test/support/fake-s3.ts'

const [endpointFile, bucket = 'demo-bucket'] = process.argv.slice(2)
if (!endpointFile) throw new Error('usage: s3-server.ts ENDPOINT_FILE [BUCKET]')

const s3 = await startFakeS3()
s3.createBucket(bucket)
writeFileSync(endpointFile, s3.endpoint)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => { void s3.close().finally(() => process.exit(0)) })
}
