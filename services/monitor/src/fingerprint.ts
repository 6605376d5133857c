/**
 * The compact per-object state kept in the bucket's state hash: `lm36:size36:etag`, where
 * lm36 is last_modified in epoch ms and size in base 36, and a plain MD5 etag (32 hex
 * characters) is packed as 22 base64 characters. Anything else (multipart etags) is kept
 * as given behind a `=` marker. About 34 bytes, so a tracked object costs < 120 bytes.
 */
export interface ObjectVersion {
  etag: string
  size: number
  /** Epoch milliseconds. */
  lastModifiedMs: number
}

const MD5_HEX = /^[0-9a-f]{32}$/

export function encodeFingerprint ({ etag, size, lastModifiedMs }: ObjectVersion): string {
  const packed = MD5_HEX.test(etag) ? Buffer.from(etag, 'hex').toString('base64').slice(0, 22) : `=${etag}`
  return `${lastModifiedMs.toString(36)}:${size.toString(36)}:${packed}`
}

export function decodeFingerprint (fp: string): ObjectVersion {
  const first = fp.indexOf(':')
  const second = fp.indexOf(':', first + 1)
  const packed = fp.slice(second + 1)
  const etag = packed.startsWith('=') ? packed.slice(1) : Buffer.from(packed, 'base64').toString('hex')
  return { etag, size: parseInt(fp.slice(first + 1, second), 36), lastModifiedMs: parseInt(fp.slice(0, first), 36) }
}

/** ListObjectsV2 quotes etags; events carry them bare, as the original did. */
export function bareEtag (etag: string): string {
  return etag.replace(/^"|"$/g, '')
}
