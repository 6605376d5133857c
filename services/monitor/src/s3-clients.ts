import { createHash } from 'node:crypto'
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import { endpointUrl, guardedAgents, type NetworkPolicy, type Resolve } from '@internal/buckets'
import { addBudgetStep } from './request-budget.ts'

export interface S3Credentials { accessKey: string, secretKey: string }

export interface S3ClientOptions {
  signingRegion: string
  /** Attempts per request including the first (SDK standard retry with backoff). */
  maxAttempts?: number
  /** Deadline of a TCP (and TLS) connect. */
  connectTimeoutMs?: number
  /** Deadline of one attempt's first response byte, and of any silence while its body arrives. */
  requestTimeoutMs?: number
  /** Every connection is checked against it at connect time (webhook.allowed_networks); none: unchecked. */
  policy?: NetworkPolicy
  /** How the guard resolves endpoint names (the system resolver unless a test injects one). */
  resolve?: Resolve
  onHit?: () => void
  onMiss?: () => void
}

/**
 * S3 clients cached by endpoint + credentials. The cache key is a hash of them, so no
 * secret is ever a visible map key. `drop(bucket)` forgets the client a bucket last used
 * (its endpoint or credentials changed).
 */
export class S3ClientCache {
  readonly #opts: S3ClientOptions
  readonly #clients = new Map<string, S3Client>()
  readonly #byBucket = new Map<string, string>()
  hits = 0
  misses = 0

  constructor (opts: S3ClientOptions) {
    this.#opts = opts
  }

  get size (): number { return this.#clients.size }

  get (bucket: string, endpoint: string, creds: S3Credentials, signingRegion = this.#opts.signingRegion): S3Client {
    const id = createHash('sha256').update([endpoint, signingRegion, creds.accessKey, creds.secretKey].join('\0')).digest('base64url')
    // Credentials rotated in the secret store reach here without a config change (no drop()):
    // the client the bucket used before is released like a dropped one.
    if (this.#byBucket.get(bucket) !== id) this.drop(bucket)
    this.#byBucket.set(bucket, id)
    const cached = this.#clients.get(id)
    if (cached) {
      this.hits++
      this.#opts.onHit?.()
      return cached
    }
    this.misses++
    this.#opts.onMiss?.()
    const client = createS3Client(endpoint, creds, signingRegion, this.#opts)
    this.#clients.set(id, client)
    return client
  }

  drop (bucket: string): void {
    const id = this.#byBucket.get(bucket)
    if (id === undefined) return
    this.#byBucket.delete(bucket)
    if ([...this.#byBucket.values()].includes(id)) return // still used by another bucket
    this.#clients.get(id)?.destroy()
    this.#clients.delete(id)
  }

  close (): void {
    for (const client of this.#clients.values()) client.destroy()
    this.#clients.clear()
    this.#byBucket.clear()
  }
}

// The SDK's default no-op logger still has `info`, so its logger middleware runs every
// response through the sensitive-data filter (a walk over all 1,000 listed objects) just to
// throw the result away. Without `info` that work is skipped: about 5 % of a rescan's CPU.
const QUIET_SDK_LOGGER = { debug () {}, warn () {}, error () {} } as unknown as S3ClientConfig['logger']

/**
 * Path-style, checksums only when required (s3rver and Linode), bounded timeouts. The
 * handler only warns when `requestTimeout` passes unless `throwOnRequestTimeout` is set, so
 * it is; the whole answer is bounded by the caller's per-request deadline (s3-request.ts).
 */
export function createS3Client (endpoint: string, creds: S3Credentials, signingRegion: string, opts: Pick<S3ClientOptions, 'maxAttempts' | 'connectTimeoutMs' | 'requestTimeoutMs' | 'policy' | 'resolve'> = {}): S3Client {
  const requestTimeout = opts.requestTimeoutMs ?? 30_000
  const client = new S3Client({
    endpoint: endpointUrl(endpoint),
    region: signingRegion,
    forcePathStyle: true,
    credentials: { accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: opts.maxAttempts ?? 4,
    logger: QUIET_SDK_LOGGER,
    requestHandler: {
      connectionTimeout: opts.connectTimeoutMs ?? 5000,
      requestTimeout,
      throwOnRequestTimeout: true,
      socketTimeout: requestTimeout,
      ...(opts.policy && guardedAgents(opts.policy, { resolve: opts.resolve, maxSockets: 50 }))
    }
  })
  addBudgetStep(client)
  return client
}
