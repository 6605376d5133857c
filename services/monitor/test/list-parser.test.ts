import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { randomUUID } from 'node:crypto'
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3'
import { createS3Client } from '../src/s3-clients.ts'
import { withFastContents } from '../src/list-parser.ts'
import { useScanServers } from './scan-harness.ts'

// The scanner's own parse of ListObjectsV2 entries against the SDK's, over HTTP.

const servers = useScanServers()

async function bothWays (client: S3Client, input: ConstructorParameters<typeof ListObjectsV2Command>[0]) {
  const sdk = await client.send(new ListObjectsV2Command(input))
  const fast = await client.send(withFastContents(new ListObjectsV2Command(input)))
  return { sdk, fast }
}

const fields = (objects: Array<{ Key?: string, ETag?: string, Size?: number, LastModified?: Date }> = []) =>
  objects.map(o => ({ Key: o.Key, ETag: o.ETag, Size: o.Size, LastModified: o.LastModified?.getTime() }))

test('entries parsed by the scanner equal the SDK\'s, pages and tokens unchanged', async (t) => {
  const name = `xml-${randomUUID().slice(0, 8)}`
  servers.fake.createBucket(name)
  const keys = ['a b', 'q"u\'o<t>e&s', 'emoji/😀', 'ünï', 'x'.repeat(1024), 'plus+%2B', ...Array.from({ length: 30 }, (_, i) => `k${i}`)]
  for (const key of keys) servers.fake.put(name, key, key)
  const client = createS3Client(servers.fake.endpoint, { accessKey: 'AK', secretKey: 'SK' }, 'us-east-1')
  t.after(() => client.destroy())
  const first = await bothWays(client, { Bucket: name, MaxKeys: 20 })
  assert.deepEqual(fields(first.fast.Contents), fields(first.sdk.Contents))
  assert.equal(first.fast.Contents?.length, 20)
  assert.equal(first.fast.IsTruncated, true)
  assert.equal(first.fast.NextContinuationToken, first.sdk.NextContinuationToken)
  const rest = await bothWays(client, { Bucket: name, ContinuationToken: first.sdk.NextContinuationToken })
  assert.deepEqual(fields(rest.fast.Contents), fields(rest.sdk.Contents))
  assert.equal(rest.fast.IsTruncated, false)
  const empty = await bothWays(client, { Bucket: name, Prefix: 'none/' })
  assert.equal(empty.fast.Contents, empty.sdk.Contents)
})

test('numeric character references and a CR in a key are decoded exactly; an error answer is the SDK\'s error', async (t) => {
  const body = '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>' +
    '<Contents><Key>line&#xD;end&#10;&#128512; &amp;</Key><LastModified>2026-01-02T03:04:05.000Z</LastModified><ETag>&quot;0cc175b9c0f1b6a831c399e269772661&quot;</ETag><Size>7</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>'
  let status = 200
  const http = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/xml' })
    res.end(status === 200 ? body : '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>no</Message></Error>')
  })
  await new Promise<void>(resolve => http.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>(resolve => { http.closeAllConnections(); http.close(() => resolve()) }))
  const client = createS3Client(`http://127.0.0.1:${(http.address() as { port: number }).port}`, { accessKey: 'AK', secretKey: 'SK' }, 'us-east-1', { maxAttempts: 1 })
  t.after(() => client.destroy())
  const page = await client.send(withFastContents(new ListObjectsV2Command({ Bucket: 'b' })))
  assert.deepEqual(fields(page.Contents), [{ Key: 'line\rend\n😀 &', ETag: '"0cc175b9c0f1b6a831c399e269772661"', Size: 7, LastModified: Date.UTC(2026, 0, 2, 3, 4, 5) }])
  status = 403
  await assert.rejects(client.send(withFastContents(new ListObjectsV2Command({ Bucket: 'b' }))), (err: Error) => err.name === 'AccessDenied')
})
