/** Scanner failures with stable codes (the API's own errors live in api/errors.ts). */
export const ScanCodes = {
  S3_REQUEST_TIMEOUT: 'S3_REQUEST_TIMEOUT',
  SCAN_TIMEOUT: 'SCAN_TIMEOUT'
} as const
export type ScanCode = typeof ScanCodes[keyof typeof ScanCodes]

export class ScanError extends Error {
  readonly code: ScanCode
  constructor (code: ScanCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'ScanError'
  }
}

/** An S3 request got no complete answer within its deadline (connect, first byte, or the whole answer). */
export function requestTimeout (operation: string, bucket: string, detail: string, cause?: unknown): ScanError {
  return new ScanError(ScanCodes.S3_REQUEST_TIMEOUT, `S3 ${operation} of bucket ${bucket} timed out: ${detail}`, { cause })
}

/** The whole scan ran past parallel.scan_timeout. */
export function scanTimeout (bucket: string, ms: number): ScanError {
  return new ScanError(ScanCodes.SCAN_TIMEOUT, `scan of bucket ${bucket} ran past its ${ms} ms deadline`)
}
