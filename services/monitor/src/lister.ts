import { ListObjectsV2Command, type S3Client, type _Object } from '@aws-sdk/client-s3'
import { s3Request, type RequestScope } from './s3-request.ts'
import { keyBefore } from './listing-order.ts'
import { withFastContents } from './list-parser.ts'

export interface ListedObject {
  key: string
  /** As listed, quotes stripped. */
  etag: string
  size: number
  lastModifiedMs: number
}

/** What a listing needs of its scan. */
export type ListTarget = RequestScope & { client: S3Client }

/** Which part of the bucket a listing covers. */
export interface ListScope {
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
// Keys come URL-encoded: an XML parser turns a CR inside <Key> into LF, and the key listed
// would then not be the key stored. A server that ignores the request (s3rver) does not echo
// EncodingType, and its keys are taken as they are. The continuation token is never encoded.
export async function * listPages (target: ListTarget, pageSize: number, { startAfter, prefix, end }: ListScope = {}): AsyncGenerator<ListedPage> {
  const fetchPage = (token: string | undefined) => s3Request(target, 'list', abortSignal => target.client.send(
    withFastContents(new ListObjectsV2Command({ Bucket: target.bucket.name, MaxKeys: pageSize, ContinuationToken: token, StartAfter: startAfter, Prefix: prefix, EncodingType: 'url' })),
    { abortSignal }
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
    const objects = toListed(page.Contents ?? [], page.EncodingType === 'url')
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

/** A key as S3 encodes it with `encoding-type=url`: percent-escapes, and `+` for a space. */
function decodeListedKey (key: string): string {
  if (!key.includes('%') && !key.includes('+')) return key // most keys: nothing encoded
  return decodeURIComponent(key.replace(/\+/g, ' '))
}

function toListed (contents: _Object[], encoded: boolean): ListedObject[] {
  const out: ListedObject[] = []
  for (const o of contents) {
    // Entries without these fields are skipped, as the Python monitor skipped them.
    if (o.Key === undefined || o.ETag === undefined || o.LastModified === undefined) continue
    out.push({ key: encoded ? decodeListedKey(o.Key) : o.Key, etag: o.ETag.replace(/^"|"$/g, ''), size: o.Size ?? 0, lastModifiedMs: o.LastModified.getTime() })
  }
  return out
}
