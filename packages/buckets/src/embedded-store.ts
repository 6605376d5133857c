import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { checkDeadline, defineScript } from '@internal/redis'
import type { SecretStore } from './secret-store.ts'

const IV_BYTES = 12
const TAG_BYTES = 16
const VERSION = 'v1'

/** The 32-byte key from SECRETS_KEY (base64); anything else is refused at start-up. */
export function parseSecretsKey (base64: string): Buffer {
  const key = Buffer.from(base64, 'base64')
  if (key.length !== 32) throw new Error(`SECRETS_KEY must be 32 bytes of base64 (got ${key.length} bytes)`)
  return key
}

export function encryptSecret (key: Buffer, name: string, plaintext: string): string {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(name)) // binds the ciphertext to its name: a blob copied to another name fails
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`
}

export function decryptSecret (key: Buffer, name: string, blob: string): string {
  if (!blob.startsWith(`${VERSION}:`)) throw new Error(`secret ${name} has an unknown format`)
  const raw = Buffer.from(blob.slice(VERSION.length + 1), 'base64')
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES))
  decipher.setAAD(Buffer.from(name))
  decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
  return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8')
}

/**
 * Secrets in one Redis hash, each value AES-256-GCM encrypted under SECRETS_KEY. With a
 * `deadline` (ms in the Redis clock, read before each write), a write that reaches Redis after
 * it throws WriteDeadlineError and changes nothing, as the API's other writes do.
 */
export function createEmbeddedSecretStore (redis: Redis, hashKey: string, key: Buffer, { deadline }: { deadline?: () => number } = {}): SecretStore {
  const write = defineScript<[string, string, string, string], number>(redis, 'wfWriteSecret', new URL('../lua/writeSecret.lua', import.meta.url), 1)
  const change = async (name: string, op: 'set' | 'delete', blob = '') => {
    if (deadline === undefined) await (op === 'set' ? redis.hset(hashKey, name, blob) : redis.hdel(hashKey, name))
    else checkDeadline(await write([hashKey], String(deadline()), name, op, blob))
  }
  return {
    kind: 'embedded',
    async get (name) {
      const blob = await redis.hget(hashKey, name)
      return blob === null ? undefined : decryptSecret(key, name, blob)
    },
    async set (name, value) { await change(name, 'set', encryptSecret(key, name, value)) },
    async delete (name) { await change(name, 'delete') }
  }
}
