// The demo's object activity, through the S3 API as any client would do it: upload a few
// objects, change one, delete one, with pauses so each change is seen by its own scan.
// Usage: activity.ts ENDPOINT BUCKET PAUSE_MS
import { setTimeout as sleep } from 'node:timers/promises'
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'

const [endpoint, bucket = 'demo-bucket', pause = '4000'] = process.argv.slice(2)
if (!endpoint) throw new Error('usage: activity.ts ENDPOINT [BUCKET] [PAUSE_MS]')
const pauseMs = Number(pause)
const s3 = new S3Client({
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'demo-access-key', secretAccessKey: 'demo-secret-key' },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED'
})

const bold = process.stdout.isTTY && !process.env.NO_COLOR
const say = (text: string) => console.log(bold ? `\x1b[1m>>> ${text}\x1b[0m` : `>>> ${text}`)
const put = (key: string, body: string, contentType = 'text/plain') =>
  s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, Metadata: { source: 'demo' } }))

say('uploading invoices/2026/11/invoice-001.pdf, invoice-002.pdf and reports/2026/11/summary.csv')
await put('invoices/2026/11/invoice-001.pdf', '%PDF-1.7 invoice 001', 'application/pdf')
await put('invoices/2026/11/invoice-002.pdf', '%PDF-1.7 invoice 002 with a longer body', 'application/pdf')
await put('reports/2026/11/summary.csv', 'month,total\n2026-11,42\n', 'text/csv')
await sleep(pauseMs)
say('changing reports/2026/11/summary.csv')
await put('reports/2026/11/summary.csv', 'month,total\n2026-11,43\n', 'text/csv')
await sleep(pauseMs)
say('deleting invoices/2026/11/invoice-002.pdf')
await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'invoices/2026/11/invoice-002.pdf' }))
await sleep(pauseMs)
s3.destroy()
