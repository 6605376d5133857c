import type { Redis } from 'ioredis'
import { checkDeadline, defineScript, type Keys } from '@internal/redis'
import { StoredBucket, type Bucket } from './schema.ts'

const lua = (name: string) => new URL(`../lua/${name}.lua`, import.meta.url)
const EXISTS = -1
const MISSING = -2

export type SaveMode = 'create' | 'update' | 'put'
export type SaveResult = { ok: true, version: number } | { ok: false, reason: 'exists' | 'missing' }

export interface BucketStoreOptions {
  /**
   * The instant (ms, Redis clock) after which each write must not be applied, read when the
   * write is sent; past it the write throws WriteDeadlineError and changes nothing. Unset: no deadline.
   */
  deadline?: () => number
}

/** Reads and writes bucket configurations; every write bumps the config version and publishes it. */
export function createBucketStore (redis: Redis, keys: Keys, { deadline }: BucketStoreOptions = {}) {
  const saveScript = defineScript<[string, string, string, string, string], number>(redis, 'wfSaveBucket', lua('saveBucket'), 2)
  const notifyScript = defineScript<[string, string, string, string], number>(redis, 'wfSetNotifications', lua('setNotifications'), 3)
  const deleteScript = defineScript<[string, string, string, string, string], number>(redis, 'wfDeleteBucket', lua('deleteBucket'), 16)
  const until = () => deadline === undefined ? '' : String(deadline())

  async function save (bucket: StoredBucket, mode: SaveMode): Promise<SaveResult> {
    const version = checkDeadline(await saveScript([keys.bucketConfig(bucket.name), keys.configVersion], JSON.stringify(bucket), keys.configChannel, bucket.name, mode, until()))
    if (version === EXISTS) return { ok: false, reason: 'exists' }
    if (version === MISSING) return { ok: false, reason: 'missing' }
    return { ok: true, version }
  }

  async function setNotifications (name: string, enabled: boolean): Promise<boolean> {
    const keyList = [keys.bucketConfig(name), keys.notificationsDisabled(name), keys.configVersion]
    return checkDeadline(await notifyScript(keyList, enabled ? 'enable' : 'disable', keys.configChannel, name, until())) !== MISSING
  }

  async function remove (name: string): Promise<boolean> {
    const keyList = [
      keys.bucketConfig(name), keys.notificationsDisabled(name), keys.lastScan(name), keys.objectState(name),
      keys.bucketStatus(name), keys.lease(name), keys.schedule, keys.legacyWebhookUrl(name), keys.scanSeen(name), keys.configVersion,
      keys.stateIndex(name), keys.stateMeta(name), keys.requestGrants(name), keys.requestRate(name), keys.fastSchedule, keys.historyBucket(name)
    ]
    return checkDeadline(await deleteScript(keyList, name, keys.configChannel, until(), keys.stateChunkPrefix(name), keys.historyEventPrefix)) !== MISSING
  }

  async function get (name: string): Promise<Bucket | undefined> {
    const [[, raw], [, flag]] = await redis.multi().get(keys.bucketConfig(name)).get(keys.notificationsDisabled(name)).exec() as [[null, string | null], [null, string | null]]
    return raw === null ? undefined : toBucket(raw, flag)
  }

  /** Every stored bucket; an unreadable entry is reported through `onInvalid`, not thrown. */
  async function list (onInvalid: (name: string, reason: string) => void = () => {}): Promise<Bucket[]> {
    const names = await listNames()
    if (names.length === 0) return []
    const raws = await redis.mget(names.map(keys.bucketConfig))
    const flags = await redis.mget(names.map(keys.notificationsDisabled))
    const buckets: Bucket[] = []
    names.forEach((name, i) => {
      const raw = raws[i]
      if (raw === null || raw === undefined) return
      const bucket = toBucket(raw, flags[i] ?? null)
      if (bucket) buckets.push(bucket)
      else onInvalid(name, 'stored configuration does not match the schema')
    })
    return buckets
  }

  async function listNames (): Promise<string[]> {
    const names: string[] = []
    let cursor = '0'
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', keys.bucketConfigPattern, 'COUNT', 500)
      cursor = next
      for (const key of found) names.push(key.slice(keys.bucketConfigPrefix.length))
    } while (cursor !== '0')
    return [...new Set(names)].sort()
  }

  async function version (): Promise<number> {
    return Number(await redis.get(keys.configVersion) ?? 0)
  }

  return { save, setNotifications, remove, get, list, listNames, version }
}

export type BucketStore = ReturnType<typeof createBucketStore>

function toBucket (raw: string, flag: string | null): Bucket | undefined {
  let json: unknown
  try { json = JSON.parse(raw) } catch { return undefined }
  const parsed = StoredBucket.safeParse(json)
  if (!parsed.success) return undefined
  // The Python monitor wrote S3 keys into this JSON on update; here they never leave the secret store.
  const { access_key: _a, secret_key: _s, client_id: _c, client_secret: _cs, token_url: _t, ...config } = parsed.data as Record<string, unknown>
  return { ...(config as StoredBucket), notifications_enabled: flag !== 'true' }
}
