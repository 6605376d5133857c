/** Where bucket credentials, OAuth client secrets and signing secrets live; never Redis in plaintext. */
export interface SecretStore {
  readonly kind: 'embedded' | 'infisical' | 'memory'
  get (name: string): Promise<string | undefined>
  /** Creates or replaces. */
  set (name: string, value: string): Promise<void>
  /** Deleting a missing secret is not an error. */
  delete (name: string): Promise<void>
}

export interface SecretStoreHealth {
  ok: boolean
  /** Secrets are being served from the cache because the backend failed. */
  degraded: boolean
  lastError?: string
}

/** Keeps secrets in process memory only (tests, and a store behind a cache). */
export function createMemorySecretStore (): SecretStore & { readonly size: number } {
  const values = new Map<string, string>()
  return {
    kind: 'memory',
    get size () { return values.size },
    async get (name) { return values.get(name) },
    async set (name, value) { values.set(name, value) },
    async delete (name) { values.delete(name) }
  }
}

export interface CachedSecretStore extends SecretStore {
  health (): SecretStoreHealth
  /** Forgets cached values so the next read goes to the backend. */
  invalidate (name?: string): void
}

/** Reads through `cached`; writes go to `writer` (the same backend another way), and the written name is read afresh next time. */
export function writeThrough (cached: CachedSecretStore, writer: SecretStore): CachedSecretStore {
  return {
    kind: cached.kind,
    get: name => cached.get(name),
    health: () => cached.health(),
    invalidate: name => cached.invalidate(name),
    async set (name, value) { await writer.set(name, value); cached.invalidate(name) },
    async delete (name) { await writer.delete(name); cached.invalidate(name) }
  }
}

export interface CachedSecretStoreOptions {
  ttlMs: number
  now?: () => number
  /**
   * When a cached value has expired and the backend has not answered within this time, the
   * stale value is served (and health() says degraded) while the backend call goes on and
   * refreshes the cache when it lands. Unset: wait for the backend, as before. Infisical's SDK
   * retries a refused connection for about 15 s, which scans should not wait for.
   */
  backendTimeoutMs?: number
}

/**
 * Caches reads for `ttlMs`; when the backend fails, a cached value is served however old it
 * is (scanning goes on while Infisical is down) and health() says so. Concurrent reads of one
 * name share one backend call.
 */
export function createCachedSecretStore (inner: SecretStore, { ttlMs, now = Date.now, backendTimeoutMs }: CachedSecretStoreOptions): CachedSecretStore {
  const cache = new Map<string, { value: string | undefined, at: number }>()
  const pending = new Map<string, Promise<string | undefined>>()
  const state: SecretStoreHealth = { ok: true, degraded: false }
  const failed = (err: unknown) => { state.ok = false; state.lastError = (err as Error).message }
  const recovered = () => { Object.assign(state, { ok: true, degraded: false, lastError: undefined }) }

  // A set, delete or invalidate bumps a name's generation: a backend read that started
  // before it neither fills the cache when it lands nor serves reads that start after it.
  const generations = new Map<string, number>()
  let epoch = 0
  const generation = (name: string) => `${epoch}:${generations.get(name) ?? 0}`
  const bump = (name?: string) => {
    if (name === undefined) { epoch++; pending.clear(); return }
    generations.set(name, (generations.get(name) ?? 0) + 1)
    pending.delete(name)
  }

  function fetch (name: string): Promise<string | undefined> {
    let call = pending.get(name)
    if (!call) {
      const started = generation(name)
      const current = () => generation(name) === started
      call = inner.get(name).then(value => {
        if (current()) cache.set(name, { value, at: now() })
        recovered()
        return value
      }, (err: unknown) => { failed(err); throw err }).finally(() => { if (pending.get(name) === call) pending.delete(name) })
      pending.set(name, call)
    }
    return call
  }

  async function staleAfterTimeout (call: Promise<string | undefined>, stale: string | undefined): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'timeout'>(resolve => { timer = setTimeout(() => resolve('timeout'), backendTimeoutMs).unref() })
    try {
      const first = await Promise.race([call, timeout])
      if (first !== 'timeout') return first
      call.catch(() => {}) // still pending: its failure is recorded by fetch()
      state.degraded = true
      return stale
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    kind: inner.kind,
    health: () => ({ ...state }),
    invalidate (name) { bump(name); if (name === undefined) cache.clear(); else cache.delete(name) },
    async get (name) {
      const hit = cache.get(name)
      if (hit && now() - hit.at < ttlMs) return hit.value
      const call = fetch(name)
      try {
        return hit && backendTimeoutMs !== undefined ? await staleAfterTimeout(call, hit.value) : await call
      } catch (err) {
        if (!hit) throw err
        state.degraded = true
        return hit.value
      }
    },
    async set (name, value) {
      bump(name)
      try { await inner.set(name, value) } catch (err) { failed(err); throw err }
      bump(name)
      cache.set(name, { value, at: now() })
      recovered()
    },
    async delete (name) {
      bump(name)
      try { await inner.delete(name) } catch (err) { failed(err); throw err }
      bump(name)
      cache.delete(name)
      recovered()
    }
  }
}
