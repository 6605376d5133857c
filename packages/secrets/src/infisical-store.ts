import type { InfisicalSDK, SecretType } from '@infisical/sdk'
import type { SecretStore } from './secret-store.ts'

export interface InfisicalStoreOptions {
  /** INFISICAL_API_URL */
  siteUrl: string
  /** INFISICAL_PROJECT_ID */
  projectId: string
  /** INFISICAL_ENV */
  environment: string
  secretPath?: string
  /** INFISICAL_TOKEN, or universal auth with INFISICAL_CLIENT_ID / INFISICAL_CLIENT_SECRET. */
  auth: { accessToken: string } | { clientId: string, clientSecret: string }
}

type Sdk = InfisicalSDK

// The SDK (with the AWS credential providers and OpenTelemetry it brings, about 25 MB of
// RSS) is loaded at the first login, so a process that never uses Infisical never loads it.
const SHARED = 'shared' as SecretType.Shared

/** The HTTP status in an InfisicalSDKRequestError's message (`[StatusCode=404]`), if any. */
export function infisicalStatus (err: unknown): number | undefined {
  const match = /\[StatusCode=(\d{3})\]/.exec((err as Error)?.message ?? '')
  return match ? Number(match[1]) : undefined
}

/**
 * Secrets in Infisical through @infisical/sdk: create with POST and update with PATCH (the
 * Python monitor always POSTed, so its updates failed), delete tolerant of 404.
 * Universal-auth logins are single-flight and repeated once when a call answers 401.
 * References are not expanded: a value is stored and read back exactly.
 */
export function createInfisicalSecretStore (opts: InfisicalStoreOptions): SecretStore {
  const base = { projectId: opts.projectId, environment: opts.environment, secretPath: opts.secretPath ?? '/' }
  let session: Promise<Sdk> | undefined

  function connect (): Promise<Sdk> {
    session ??= login().catch((err: unknown) => { session = undefined; throw err })
    return session
  }

  async function login (): Promise<Sdk> {
    const { InfisicalSDK } = await import('@infisical/sdk')
    const sdk = new InfisicalSDK({ siteUrl: opts.siteUrl })
    if ('accessToken' in opts.auth) return sdk.auth().accessToken(opts.auth.accessToken)
    return await sdk.auth().universalAuth.login({ clientId: opts.auth.clientId, clientSecret: opts.auth.clientSecret })
  }

  async function call<T> (work: (sdk: Sdk) => Promise<T>): Promise<T> {
    const sdk = await connect()
    try {
      return await work(sdk)
    } catch (err) {
      if (infisicalStatus(err) !== 401 || 'accessToken' in opts.auth) throw err
      session = undefined // the universal-auth token expired or was revoked: log in again, once
      return await work(await connect())
    }
  }

  const update = (name: string, value: string) =>
    call(sdk => sdk.secrets().updateSecret(name, { ...base, secretValue: value, type: SHARED }))
  const create = (name: string, value: string) =>
    call(sdk => sdk.secrets().createSecret(name, { ...base, secretValue: value, type: SHARED, skipMultilineEncoding: true }))

  return {
    kind: 'infisical',
    async get (name) {
      try {
        const secret = await call(sdk => sdk.secrets().getSecret({ ...base, secretName: name, expandSecretReferences: false, viewSecretValue: true }))
        return secret.secretValue
      } catch (err) {
        if (infisicalStatus(err) === 404) return undefined
        throw err
      }
    },
    async set (name, value) {
      try {
        await update(name, value)
      } catch (err) {
        if (infisicalStatus(err) !== 404) throw err
        try {
          await create(name, value)
        } catch (createErr) {
          if (infisicalStatus(createErr) !== 400) throw createErr
          await update(name, value) // created by someone else in between
        }
      }
    },
    async delete (name) {
      try {
        await call(sdk => sdk.secrets().deleteSecret(name, { ...base, type: SHARED }))
      } catch (err) {
        if (infisicalStatus(err) !== 404) throw err
      }
    }
  }
}
