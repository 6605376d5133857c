import { z } from 'zod'

/**
 * Secret values published in this repository (docker-compose.yml's defaults, the k8s secrets
 * example's placeholders, the README's examples). Anyone can read them, so a deployment that
 * kept one has no secret at all; they are refused unless ALLOW_DEMO_SECRETS says this is the demo.
 */
export const DEMO_SECRETS: ReadonlySet<string> = new Set([
  'demo-only-jwt-secret-do-not-use-in-production',
  'demo-client-secret-change-me',
  '<at least 32 random bytes, e.g. openssl rand -base64 48>',
  '<api client secret>',
  'your-client-secret'
])

/** The environment variable that allows DEMO_SECRETS (the compose demo sets it). */
export const DEMO_FLAG = 'ALLOW_DEMO_SECRETS'

export const envFlag = z.enum(['true', 'false', '1', '0']).transform(v => v === 'true' || v === '1')

/** Whether the environment allows the demo secrets; a malformed flag allows nothing (and is reported by the schema). */
export function allowsDemoSecrets (env: Record<string, string | undefined>): boolean {
  const parsed = envFlag.safeParse(env[DEMO_FLAG])
  return parsed.success && parsed.data
}

/** A secret from the environment: at least `minBytes` bytes (UTF-8), and no published demo value unless allowed. */
export function secretEnv (minBytes: number, allowDemo: boolean) {
  return z.string()
    .refine(s => Buffer.byteLength(s) >= minBytes, `must be at least ${minBytes} bytes`)
    .refine(s => allowDemo || !DEMO_SECRETS.has(s), `is a published demo value; use a random secret (or set ${DEMO_FLAG}=true for the demo only)`)
}
