/** Stable codes of the reasons a delivery did not happen; the README tabulates them. */
export const DeliveryCodes = {
  /** The webhook or token URL resolves to an address outside `webhook.allowed_networks`. */
  ADDRESS_REFUSED: 'ADDRESS_REFUSED',
  /** The token endpoint refused the client (a 4xx) or answered without a token; retried like a failed delivery. */
  TOKEN_FAILED: 'TOKEN_FAILED',
  /** The token endpoint is unreachable, timed out or answered 408, 429 or 5xx: the event waits without spending an attempt. */
  TOKEN_UNAVAILABLE: 'TOKEN_UNAVAILABLE',
  /** The event names a bucket that is not configured (deleted, or never added): no receiver subscribed to it. */
  BUCKET_UNKNOWN: 'BUCKET_UNKNOWN',
  /** Neither the bucket nor the config names a webhook URL. */
  NO_WEBHOOK_URL: 'NO_WEBHOOK_URL',
  /** A secret the delivery needs could not be read. */
  SECRET_UNAVAILABLE: 'SECRET_UNAVAILABLE'
} as const
export type DeliveryCode = typeof DeliveryCodes[keyof typeof DeliveryCodes]

/** A delivery that could not be attempted; `retryable` says whether a later attempt may succeed. */
export class DeliveryError extends Error {
  readonly code: DeliveryCode
  readonly retryable: boolean

  constructor (code: DeliveryCode, message: string, opts: { retryable: boolean, cause?: unknown }) {
    super(message, { cause: opts.cause })
    this.name = 'DeliveryError'
    this.code = code
    this.retryable = opts.retryable
  }
}

/** Finds a DeliveryError in an error or its cause chain (undici wraps connect errors). */
export function findDeliveryError (err: unknown): DeliveryError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof DeliveryError) return e
  }
  return undefined
}

/**
 * A delivery that passed webhook.timeout (connect, headers and excerpt together). Not a
 * DeliveryError: the receiver is the one failing, so it counts for its circuit breaker.
 */
export class WebhookTimeoutError extends Error {
  readonly code = 'WEBHOOK_TIMEOUT'

  constructor (timeoutMs: number) {
    super(`no answer within the delivery deadline of ${timeoutMs} ms`)
    this.name = 'WebhookTimeoutError'
  }
}
