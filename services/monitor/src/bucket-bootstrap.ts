import { ConfigError, describeIssues, type Config } from '@internal/config'
import {
  BucketInputFields, bucketSecretNames, normalizeBucketInput,
  type BucketStore, type NormalizedBucket, type SecretStore, type SecretKind
} from '@internal/buckets'

export interface BootstrapDeps {
  config: Config
  store: BucketStore
  secrets: SecretStore
  now: () => number
}

/**
 * Loads the config file's `buckets:` (and BUCKETS_PATH's) into Redis at start-up: secrets
 * into the secret store, the secret-free config under the key the Python monitor used. Every bad entry
 * is listed in one ConfigError before anything is written. An unchanged bucket is not
 * rewritten, and a notifications switch set through the API survives a restart unless the
 * file sets `notifications_enabled` itself. Returns the names loaded.
 */
export async function loadConfiguredBuckets ({ config, store, secrets, now }: BootstrapDeps): Promise<string[]> {
  const nowIso = new Date(now()).toISOString()
  const problems: string[] = []
  const entries: Array<{ bucket: NormalizedBucket, setsSwitch: boolean }> = []
  config.buckets.forEach((raw, i) => {
    const label = `buckets[${i}]${typeof raw.name === 'string' ? ` (${raw.name})` : ''}`
    const parsed = BucketInputFields.safeParse(raw)
    if (!parsed.success) { problems.push(...describeIssues(parsed.error.issues, label)); return }
    if (entries.some(e => e.bucket.stored.name === parsed.data.name)) { problems.push(`${label}: bucket listed twice`); return }
    entries.push({ bucket: normalizeBucketInput(parsed.data, { endpoint: config.defaults.endpoint }, nowIso), setsSwitch: raw.notifications_enabled !== undefined })
  })
  if (problems.length > 0) throw new ConfigError(problems)
  for (const { bucket, setsSwitch } of entries) await loadOne(store, secrets, bucket, setsSwitch)
  return entries.map(e => e.bucket.stored.name)
}

async function loadOne (store: BucketStore, secrets: SecretStore, { stored, secrets: values, notificationsEnabled }: NormalizedBucket, setsSwitch: boolean): Promise<void> {
  const names = bucketSecretNames(stored.name)
  for (const [kind, value] of Object.entries(values) as Array<[SecretKind, string]>) {
    if (await secrets.get(names[kind]) !== value) await secrets.set(names[kind], value)
  }
  const existing = await store.get(stored.name)
  const { notifications_enabled: enabled, added_at: addedAt, updated_at: _u, ...current } = existing ?? { notifications_enabled: true }
  const { added_at: _a, updated_at: _b, ...wanted } = stored
  if (!existing || JSON.stringify(sorted(current)) !== JSON.stringify(sorted(wanted))) {
    await store.save({ ...stored, added_at: addedAt ?? stored.added_at }, 'put')
  }
  if (setsSwitch && enabled !== notificationsEnabled) await store.setNotifications(stored.name, notificationsEnabled)
}

function sorted (o: object): Array<[string, unknown]> {
  return Object.entries(o).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b))
}
