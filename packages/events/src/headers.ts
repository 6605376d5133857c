import { signatureHeader } from './signature.ts'

export interface HeaderInput {
  requestId: string
  bucket: string
  eventType: string
  eventId: string
  userAgent: string
  /** Every signing key signs (Standard Webhooks allows several signatures in one header). */
  signingKeys: readonly Buffer[]
  token?: string | undefined
}

/**
 * Every format's headers: the original's (`X-Request-ID`, `X-Bucket-Name`, `X-Event-Type`)
 * and Standard Webhooks' (`webhook-id` = event_id, `webhook-timestamp`, `webhook-signature`).
 */
export function webhookHeaders (input: HeaderInput, body: string, nowMs: number): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000)
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': input.userAgent,
    'x-request-id': input.requestId,
    'x-bucket-name': input.bucket,
    'x-event-type': input.eventType,
    'webhook-id': input.eventId,
    'webhook-timestamp': String(timestamp)
  }
  if (input.signingKeys.length > 0) headers['webhook-signature'] = signatureHeader(input.signingKeys, input.eventId, timestamp, body)
  if (input.token) headers.authorization = `Bearer ${input.token}`
  return headers
}
