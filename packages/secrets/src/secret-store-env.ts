import { z } from 'zod'

/** The secret store's environment variables, read by both services (packages/secrets owns the store). */
export const SecretStoreEnvFields = {
  SECRETS_KEY: z.string().refine(s => Buffer.from(s, 'base64').length === 32, 'must be 32 bytes, base64').optional(),
  INFISICAL_API_URL: z.string().url().optional(),
  INFISICAL_TOKEN: z.string().min(1).optional(),
  INFISICAL_PROJECT_ID: z.string().min(1).optional(),
  INFISICAL_ENV: z.string().min(1).optional(),
  INFISICAL_CLIENT_ID: z.string().min(1).optional(),
  INFISICAL_CLIENT_SECRET: z.string().min(1).optional()
}

type StoreEnv = { [K in keyof typeof SecretStoreEnvFields]?: string }

/** There is no plaintext mode: one of the two stores must be configured. */
export const hasSecretStore = (e: StoreEnv): boolean =>
  e.SECRETS_KEY !== undefined || e.INFISICAL_TOKEN !== undefined || (e.INFISICAL_CLIENT_ID !== undefined && e.INFISICAL_CLIENT_SECRET !== undefined)

export const NO_SECRET_STORE = {
  message: 'no secret store: set SECRETS_KEY (32 bytes, base64) or INFISICAL_TOKEN / INFISICAL_CLIENT_ID + INFISICAL_CLIENT_SECRET',
  path: ['SECRETS_KEY']
}
