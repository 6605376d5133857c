/**
 * The compact per-object state kept in the bucket's state hash, at most 30 bytes for
 * objects under 46 KB so that Redis keeps each value in its smallest allocation (an sds of
 * up to 31 characters has a 1-byte header): a tracked object then costs about 100 bytes.
 *
 *   `T,S` + 20 characters   T = last_modified, whole seconds in base 36 (or `.` + ms in base 36)
 *                           S = size in base 36; then an MD5 etag as 20 base-85 characters
 *   `T,S,raw etag`          any other etag (multipart `…-12`, upper case), as listed
 */
export interface ObjectVersion {
  etag: string
  size: number
  /** Epoch milliseconds. */
  lastModifiedMs: number
}

// 85 printable characters without `,` (the separator), quotes or backslash.
const ALPHABET = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).filter(c => !',"\'\\`'.includes(c)).slice(0, 85).join('')
const DIGIT = new Int8Array(128).fill(-1)
for (let i = 0; i < 85; i++) DIGIT[ALPHABET.charCodeAt(i)] = i
const MD5_HEX = /^[0-9a-f]{32}$/
const PACKED = 20

export function encodeFingerprint ({ etag, size, lastModifiedMs }: ObjectVersion): string {
  const time = lastModifiedMs % 1000 === 0 ? (lastModifiedMs / 1000).toString(36) : `.${lastModifiedMs.toString(36)}`
  const head = `${time},${size.toString(36)}`
  return MD5_HEX.test(etag) ? head + hexToBase85(etag) : `${head},${etag}`
}

export function decodeFingerprint (fp: string): ObjectVersion {
  const comma = fp.indexOf(',')
  const time = fp.slice(0, comma)
  const lastModifiedMs = time.startsWith('.') ? parseInt(time.slice(1), 36) : parseInt(time, 36) * 1000
  const raw = fp.indexOf(',', comma + 1)
  if (raw >= 0) return { etag: fp.slice(raw + 1), size: parseInt(fp.slice(comma + 1, raw), 36), lastModifiedMs }
  return { etag: base85ToHex(fp.slice(-PACKED)), size: parseInt(fp.slice(comma + 1, -PACKED), 36), lastModifiedMs }
}

// Every page of every rescan encodes 1,000 etags: 4 x 32 bits, 5 base-85 digits each,
// built from character codes (no intermediate strings; the caller checked the hex).
const ALPHABET_CODES = Array.from(ALPHABET, c => c.charCodeAt(0))
const HEX_VALUE = new Uint8Array(128)
for (let i = 0; i < 16; i++) HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i
const codes: number[] = new Array(PACKED).fill(0)

function hexToBase85 (hex: string): string {
  for (let g = 0; g < 4; g++) {
    let n = 0
    for (let i = g * 8; i < g * 8 + 8; i++) n = n * 16 + HEX_VALUE[hex.charCodeAt(i)]!
    for (let d = 4; d >= 0; d--) {
      const digit = n % 85
      codes[g * 5 + d] = ALPHABET_CODES[digit]!
      n = (n - digit) / 85
    }
  }
  return String.fromCharCode(...codes)
}

function base85ToHex (packed: string): string {
  let out = ''
  for (let i = 0; i < PACKED; i += 5) {
    let n = 0
    for (let d = 0; d < 5; d++) n = n * 85 + DIGIT[packed.charCodeAt(i + d)]!
    out += n.toString(16).padStart(8, '0')
  }
  return out
}

/** ListObjectsV2 quotes etags; events carry them bare, as the Python monitor did. */
export function bareEtag (etag: string): string {
  return etag.replace(/^"|"$/g, '')
}
