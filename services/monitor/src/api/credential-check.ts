import { S3Client, ListObjectsV2Command } from '@aws-sdk/client-s3'
import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { endpointUrl, type NetworkPolicy } from '@internal/buckets'
import { guardedLookup } from './network-guard.ts'

export interface CredentialCheckInput {
  bucket: string
  endpoint: string
  accessKey: string
  secretKey: string
  signingRegion: string
}

export type CredentialCheck = (input: CredentialCheckInput) => Promise<{ ok: true } | { ok: false, reason: string }>

/**
 * Lists one key with the given credentials, as the scanner will, so a bucket with a wrong key,
 * a wrong endpoint or a missing bucket is refused at add time (422) rather than failing every scan.
 */
export function createCredentialCheck ({ policy, timeoutMs = 10_000 }: { policy: NetworkPolicy, timeoutMs?: number }): CredentialCheck {
  const lookup = guardedLookup(policy)
  return async ({ bucket, endpoint, accessKey, secretKey, signingRegion }) => {
    const client = new S3Client({
      endpoint: endpointUrl(endpoint),
      region: signingRegion,
      forcePathStyle: true,
      maxAttempts: 2,
      credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { httpAgent: new HttpAgent({ lookup }), httpsAgent: new HttpsAgent({ lookup }) }
    })
    try {
      await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }), { abortSignal: AbortSignal.timeout(timeoutMs) })
      return { ok: true }
    } catch (err) {
      return { ok: false, reason: describeS3Error(err) }
    } finally {
      client.destroy()
    }
  }
}

function describeS3Error (err: unknown): string {
  const e = err as { name?: string, message?: string, Code?: string, $metadata?: { httpStatusCode?: number } }
  const status = e.$metadata?.httpStatusCode
  const name = e.Code ?? e.name ?? 'Error'
  const message = (e.message ?? '').split('\n')[0]?.slice(0, 300)
  return [name, status && `(HTTP ${status})`, message && message !== name ? `: ${message}` : ''].filter(Boolean).join(' ').replace(' :', ':')
}
