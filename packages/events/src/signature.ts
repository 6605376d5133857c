import { createHmac } from 'node:crypto'

const STANDARD_PREFIX = 'whsec_'

/**
 * The HMAC key of a signing secret. A `whsec_`-prefixed secret is the Standard Webhooks
 * form: the rest is the key in base64. Any other secret is used as it is: its UTF-8 bytes
 * are the key (a receiver verifies with that string as a raw key).
 */
export function signingKey (secret: string): Buffer {
  if (secret.startsWith(STANDARD_PREFIX)) return Buffer.from(secret.slice(STANDARD_PREFIX.length), 'base64')
  return Buffer.from(secret, 'utf8')
}

/** Standard Webhooks `webhook-signature`: `v1,` + base64 HMAC-SHA256 over `id.timestamp.body`. */
export function signWebhook (key: Buffer, id: string, timestampSec: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestampSec}.${body}`).digest('base64')
  return `v1,${mac}`
}

/**
 * The header with one signature per key, space-separated as Standard Webhooks allows: a
 * receiver that knows any one of the secrets verifies, so a secret is rotated without a gap.
 */
export function signatureHeader (keys: readonly Buffer[], id: string, timestampSec: number, body: string): string {
  return keys.map(key => signWebhook(key, id, timestampSec, body)).join(' ')
}
