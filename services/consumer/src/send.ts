import type { AttemptResult } from './classify.ts'
import type { WebhookRequest } from './deliver.ts'
import type { Target } from './target.ts'
import type { Delivery } from './settle.ts'
import type { ClientCredentials, TokenSource } from './oauth.ts'

/**
 * One delivery attempt with OAuth2 when configured: a cached token, and on a 401 the token
 * is dropped, a fresh one fetched and the request sent once more. A token failure comes
 * back as `{ error }` (a DeliveryError, retryable).
 */
export async function sendWithAuth (
  request: WebhookRequest, credentials: ClientCredentials | undefined, tokens: TokenSource, post: (req: WebhookRequest) => Promise<AttemptResult>
): Promise<AttemptResult> {
  if (!credentials) return await post(request)
  try {
    const token = await tokens.get(credentials)
    const first = await post({ ...request, token })
    if (!('status' in first) || first.status !== 401) return first
    tokens.invalidate(credentials, token)
    return await post({ ...request, token: await tokens.get(credentials) })
  } catch (err) {
    return { error: err as Error }
  }
}

/** The POST of one attempt of a delivery to its target. */
export function webhookRequest (d: Delivery, target: Target): WebhookRequest {
  return {
    url: target.url,
    fields: d.fields,
    raw: d.event.subscription === undefined ? d.entry : undefined,
    eventId: d.event.event_id,
    bucket: d.event.bucket,
    eventType: d.event.event_type,
    attempt: d.attemptNo,
    requestId: d.requestId,
    signingKeys: target.signingKeys,
    format: target.format,
    formatContext: target.formatContext
  }
}
