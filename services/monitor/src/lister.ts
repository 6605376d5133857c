import { ListObjectsV2Command, type S3Client, type _Object } from '@aws-sdk/client-s3'
import type { Limiter } from './limiter.ts'
import { keyBefore } from './listing-order.ts'
import { withFastContents } from './list-parser.ts'

export interface ListedObject {
  key: string
  /** As listed, quotes stripped. */
  etag: string
  size: number
  lastModifiedMs: number
}

export interface ListOptions {
  client: S3Client
  bucket: string
  pageSize: number
  /** The region's S3 operation slots. */
  region: Limiter
  signal: AbortSignal
  /** List only the keys after this one (StartAfter). */
  startAfter?: string
  /** List only keys starting with this (Prefix). */
  prefix?: string
  /** Stop after the page that reaches past this key (read at each page: it may move closer). */
  end?: () => string | undefined
}

export interface ListedPage {
  objects: ListedObject[]
  /** No page follows. */
  final: boolean
}

/**
 * Every page of a ListObjectsV2 listing. The next page is requested as soon as the current
 * one arrives, so listing overlaps whatever the caller does with a page; memory holds at
 * most two pages whatever the bucket's size.
 */
export async function * listPages ({ client, bucket, pageSize, region, signal, startAfter, prefix, end }: ListOptions): AsyncGenerator<ListedPage> {
  const fetchPage = (token: string | undefined) => region.run(() => client.send(
    withFastContents(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: pageSize, ContinuationToken: token, StartAfter: startAfter, Prefix: prefix })),
    { abortSignal: signal }
  ))
  let token: string | undefined
  let pending = fetchPage(token)
  while (true) {
    const page = await pending
    const next = page.IsTruncated === true ? page.NextContinuationToken : undefined
    if (page.IsTruncated === true && !next) throw new Error('listing truncated without a continuation token')
    // A server that hands back the token it was given would have us list the same page forever.
    if (next !== undefined && next === token) throw new Error('listing repeated its continuation token')
    token = next
    const objects = toListed(page.Contents ?? [])
    const last = objects.at(-1)?.key
    const through = end?.()
    const more = next !== undefined && !(through !== undefined && last !== undefined && keyBefore(through, last))
    if (more) {
      pending = fetchPage(next)
      pending.catch(() => {}) // observed when awaited; avoids an unhandled rejection if the caller stops early
    }
    yield { objects, final: next === undefined }
    if (!more) return
  }
}

function toListed (contents: _Object[]): ListedObject[] {
  const out: ListedObject[] = []
  for (const o of contents) {
    // The original skipped entries without these fields; so do we.
    if (o.Key === undefined || o.ETag === undefined || o.LastModified === undefined) continue
    out.push({ key: o.Key, etag: o.ETag.replace(/^"|"$/g, ''), size: o.Size ?? 0, lastModifiedMs: o.LastModified.getTime() })
  }
  return out
}
