// How a receiver verifies a watch-folder webhook (Standard Webhooks, https://www.standardwebhooks.com):
// the signature is base64 HMAC-SHA256 over `${webhook-id}.${webhook-timestamp}.${raw body}`,
// sent as `v1,<signature>` in webhook-signature (space-separated when there are several).
import { createHmac, timingSafeEqual } from 'node:crypto'

/** Standard Webhooks: HMAC-SHA256 over `id.timestamp.body`; a `whsec_` secret is base64, any other is used as UTF-8. */
export function verifySignature (secretValue, headers, body, { toleranceSec = 300, nowSec = Date.now() / 1000 } = {}) {
  const id = headers['webhook-id']
  const timestamp = headers['webhook-timestamp']
  const signatures = String(headers['webhook-signature'] ?? '').split(' ')
  if (!id || !timestamp) return false
  // A stale or future timestamp is refused, so a captured request cannot be replayed later.
  if (Math.abs(nowSec - Number(timestamp)) > toleranceSec) return false
  const key = secretValue.startsWith('whsec_') ? Buffer.from(secretValue.slice(6), 'base64') : Buffer.from(secretValue, 'utf8')
  const expected = Buffer.from(createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64'))
  return signatures.some(s => {
    const given = Buffer.from(s.replace(/^v1,/, ''))
    return s.startsWith('v1,') && given.length === expected.length && timingSafeEqual(given, expected)
  })
}
