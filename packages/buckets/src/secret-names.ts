import { SECRET_KINDS, type SecretKind } from './schema.ts'
import type { SecretStore } from '@internal/secrets'
import { DEFAULT_SUBSCRIPTION } from './schema.ts'

/*
 * A secret's name is `<bucket>_<KIND>`, the bucket spelled in the code
 *   a-z -> A-Z, 0-9 -> 0-9, '-' -> '_', '.' -> 'dot'
 * (env-var-safe characters, as Infisical and the Python monitor expect). The code is prefix-free (no
 * codeword begins another: 'dot' is the only one in lower case), and no kind ends with
 * `_<another kind>`, so a name decodes to exactly one bucket and kind: two buckets never share a
 * secret. A bucket without dots keeps the Python monitor's name (`MY_BUCKET_ACCESS_KEY`).
 * A subscription's secrets put 'sub' plus the id in the same code between the two: 'sub'
 * begins no codeword either (and no code of a bucket contains it), so the name stays decodable.
 *
 * Names used before spelled a dot `_DOT_`, so `a.b` and `a-dot-b` shared `A_DOT_B_*`.
 */
const encode = (part: string) => part.toUpperCase().replaceAll('-', '_').replaceAll('.', 'dot')

export function secretName (bucket: string, kind: SecretKind): string {
  return `${encode(bucket)}_${kind}`
}

/** The name of a subscription's secret; the `default` subscription's are the bucket's own. */
export function subscriptionSecretName (bucket: string, subscription: string, kind: SubscriptionSecretKind): string {
  if (subscription === DEFAULT_SUBSCRIPTION) return secretName(bucket, kind)
  return `${encode(bucket)}_sub${encode(subscription)}_${kind}`
}

export const SUBSCRIPTION_SECRET_KINDS = ['WEBHOOK_CLIENT_SECRET', 'SIGNING_SECRET'] as const satisfies readonly SecretKind[]
export type SubscriptionSecretKind = typeof SUBSCRIPTION_SECRET_KINDS[number]

/** The name a secret had before dots were spelled `dot`; undefined when it has not changed. */
export function legacySecretName (name: string): string | undefined {
  return name.includes('dot') ? name.replaceAll('dot', '_DOT_') : undefined
}

/**
 * Reads a secret missing under its name from the name it had before, and stores it under its
 * name (a service started before the monitor's migration still finds a dotted bucket's secrets).
 * The old name is left for migrateLegacySecretNames, which knows whether another bucket owns it.
 */
export function withLegacySecretNames (inner: SecretStore): SecretStore {
  return {
    kind: inner.kind,
    async get (name) {
      const value = await inner.get(name)
      const legacy = value === undefined ? legacySecretName(name) : undefined
      if (legacy === undefined) return value
      const old = await inner.get(legacy)
      if (old !== undefined) await inner.set(name, old)
      return old
    },
    set: (name, value) => inner.set(name, value),
    delete: name => inner.delete(name)
  }
}

export interface SecretMigration {
  /** Secret names whose old name was found (the value is now under the new name). */
  moved: string[]
  /**
   * Old names kept because they are also the name of another existing bucket's secret (`a.b`
   * and `a-dot-b` both exist): both buckets hold the same value until one is set again.
   */
  shared: string[]
}

/** Moves every dotted bucket's secrets from their old names (run at start-up, before the API). */
export async function migrateLegacySecretNames (secrets: SecretStore, buckets: string[]): Promise<SecretMigration> {
  const result: SecretMigration = { moved: [], shared: [] }
  const existing = new Set(buckets)
  for (const bucket of buckets.filter(b => b.includes('.'))) {
    // The bucket whose name is this one's old name: `a.b` -> `a-dot-b`.
    const owner = bucket.replaceAll('.', '-dot-')
    for (const kind of SECRET_KINDS) await migrateOne(secrets, secretName(bucket, kind), existing.has(owner), result)
  }
  return result
}

async function migrateOne (secrets: SecretStore, name: string, ownedByAnother: boolean, result: SecretMigration): Promise<void> {
  const legacy = legacySecretName(name)!
  const old = await secrets.get(legacy)
  if (old === undefined) return
  if (await secrets.get(name) === undefined) await secrets.set(name, old)
  result.moved.push(name)
  if (ownedByAnother) result.shared.push(legacy)
  else await secrets.delete(legacy)
}
