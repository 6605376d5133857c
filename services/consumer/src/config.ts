import { BaseEnv } from '@internal/config'
import { z } from 'zod'

/** The consumer's environment: the shared variables plus the secret store's. */
export const ConsumerEnv = BaseEnv.extend({
  SECRETS_KEY: z.string().min(1).optional(),
  INFISICAL_API_URL: z.string().url().optional(),
  INFISICAL_TOKEN: z.string().min(1).optional(),
  INFISICAL_PROJECT_ID: z.string().min(1).optional(),
  INFISICAL_ENV: z.string().min(1).optional(),
  INFISICAL_CLIENT_ID: z.string().min(1).optional(),
  INFISICAL_CLIENT_SECRET: z.string().min(1).optional(),
  /** This replica's id in Redis (processing list, heartbeat); default host name + pid + random. */
  CONSUMER_ID: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/).optional()
})
export type ConsumerEnv = z.infer<typeof ConsumerEnv>
