import type { FastifyInstance } from 'fastify'
import type { Redis, Keys } from '@internal/redis'
import type { BucketStore, BucketRegistry, CachedSecretStore } from '@internal/buckets'
import type { Config } from '@internal/config'
import type { Logger } from '@internal/telemetry'

/** What the scanner offers the API (status, resync); implemented by the monitor's scheduler. */
export interface ScanControl {
  /** Scan the bucket as soon as possible; with `forget`, drop its object state first so everything is re-announced. */
  resync (bucket: string, opts: { forget: boolean }): Promise<void>
}

export interface ApiDeps {
  config: Config
  log: Logger
  redis: Redis
  keys: Keys
  store: BucketStore
  registry: BucketRegistry
  secrets: CachedSecretStore
  scans: ScanControl
  /** API environment: JWT_SECRET, API_CLIENT_ID, API_CLIENT_SECRET (checked at start-up). */
  auth: { jwtSecret: string, clientId: string, clientSecret: string }
  now?: () => number
}

/** Registers the REST API routes (issue 4). Placeholder until the API lands. */
export async function registerApi (_app: FastifyInstance, _deps: ApiDeps): Promise<void> {}
