import { pino, type Logger, type DestinationStream } from 'pino'

export type { Logger } from 'pino'

/**
 * Paths that may carry a secret in any log object. Redaction is the second line of defence:
 * code never logs a secret on purpose, and a test searches a full run's logs for them.
 */
export const REDACT_PATHS = [
  'access_key', 'secret_key', 'client_secret', 'signing_secret', 'password', 'token', 'access_token', 'authorization',
  '*.access_key', '*.secret_key', '*.client_secret', '*.signing_secret', '*.password', '*.token', '*.access_token', '*.authorization',
  '*.*.client_secret', '*.*.access_key', '*.*.secret_key',
  'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', '*.headers.authorization',
  'secretAccessKey', '*.secretAccessKey', 'credentials', '*.credentials'
]

export interface LoggerOptions {
  /** The `logger` field of every line, for example `bucket-monitor`. */
  service: string
  level: string
  destination?: DestinationStream
}

/** pino JSON lines with the Python services' field names: timestamp, level, logger, message. */
export function createLogger ({ service, level, destination }: LoggerOptions): Logger {
  return pino({
    level,
    messageKey: 'message',
    errorKey: 'err',
    base: { logger: service },
    timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
    formatters: { level: label => ({ level: label.toUpperCase() }) },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' }
  }, destination)
}
