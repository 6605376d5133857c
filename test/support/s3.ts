import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import S3rver from 's3rver'
import { S3Client, CreateBucketCommand, PutObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3'

export interface S3TestServer {
  endpoint: string
  accessKey: string
  secretKey: string
  client: S3Client
  createBucket (name: string): Promise<void>
  put (bucket: string, key: string, body?: string, opts?: { contentType?: string, metadata?: Record<string, string> }): Promise<void>
  remove (bucket: string, key: string): Promise<void>
  stop (): Promise<void>
}

/** s3rver on a free loopback port with its own directory (../shared/notes/test-infra.md, section 1). */
export async function startS3 (): Promise<S3TestServer> {
  const directory = mkdtempSync(join(tmpdir(), 'wf-s3-'))
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory })
  const { port } = await server.run() as unknown as { port: number }
  const endpoint = `http://127.0.0.1:${port}`
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED'
  })
  return {
    endpoint,
    accessKey: 'S3RVER',
    secretKey: 'S3RVER',
    client,
    async createBucket (name) { await client.send(new CreateBucketCommand({ Bucket: name })) },
    async put (bucket, key, body = 'x', opts = {}) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: opts.contentType, Metadata: opts.metadata }))
    },
    async remove (bucket, key) { await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })) },
    async stop () {
      client.destroy()
      await server.close()
      rmSync(directory, { recursive: true, force: true })
    }
  }
}
