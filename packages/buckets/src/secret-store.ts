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

/**
 * Caches reads for `ttlMs`; when the backend fails, a cached value is served however old it
 * is (scanning goes on while Infisical is down) and health() says so.
 */
export function createCachedSecretStore (inner: SecretStore, { ttlMs, now = Date.now }: { ttlMs: number, now?: () => number }): CachedSecretStore {
  const cache = new Map<string, { value: string | undefined, at: number }>()
  const state: SecretStoreHealth = { ok: true, degraded: false }
  const failed = (err: unknown) => { state.ok = false; state.lastError = (err as Error).message }
  return {
    kind: inner.kind,
    health: () => ({ ...state }),
    invalidate (name) { if (name === undefined) cache.clear(); else cache.delete(name) },
    async get (name) {
      const hit = cache.get(name)
      if (hit && now() - hit.at < ttlMs) return hit.value
      try {
        const value = await inner.get(name)
        cache.set(name, { value, at: now() })
        Object.assign(state, { ok: true, degraded: false, lastError: undefined })
        return value
      } catch (err) {
        failed(err)
        if (!hit) throw err
        state.degraded = true
        return hit.value
      }
    },
    async set (name, value) {
      try { await inner.set(name, value) } catch (err) { failed(err); throw err }
      cache.set(name, { value, at: now() })
    },
    async delete (name) {
      try { await inner.delete(name) } catch (err) { failed(err); throw err }
      cache.delete(name)
    }
  }
}
