import { test } from 'node:test'
import assert from 'node:assert/strict'
import { scrubExcerpt } from '../src/history-observer.ts'

test('a response excerpt is kept to 1 KiB with credentials replaced', () => {
  assert.equal(scrubExcerpt('{"error":"bad","access_token":"eyJhbGciOi.x.y","password": "hunter2"}'), '{"error":"bad","access_token":"[REDACTED]","password": "[REDACTED]"}')
  assert.equal(scrubExcerpt('Authorization: Bearer abcdefghijklmnop rejected'), 'Authorization: [REDACTED] rejected')
  assert.equal(scrubExcerpt('sent bearer abcdefghijklmnop'), 'sent bearer [REDACTED]')
  assert.equal(scrubExcerpt('client_secret=s3cr3t&api_key=k1&x=1'), 'client_secret=[REDACTED]&api_key=[REDACTED]&x=1')
  assert.equal(scrubExcerpt('no secret here, status 503'), 'no secret here, status 503')
  const long = scrubExcerpt('é'.repeat(2000))
  assert.ok(Buffer.byteLength(long) <= 1024)
  assert.equal(long, 'é'.repeat(512), 'cut on a character boundary')
})
