import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createHash } from 'node:crypto'

/**
 * A fast in-memory S3 over HTTP, path-style, for tests and the scan benchmark: ListObjectsV2
 * (sorted by byte order, continuation tokens, prefix, start-after, max-keys), HeadObject,
 * GetObject, PutObject, DeleteObject, CreateBucket. Signatures are not checked. With
 * `encoding-type=url` keys are URL-encoded in the listing as S3 does (space as `+`). A
 * delimiter listing (CommonPrefixes) is answered without continuation tokens (one page).
 * `intercept` injects faults (a failing page, 503 SlowDown, 403 AccessDenied), `latencyMs`
 * slows every answer, and `hang` makes chosen buckets' requests hang like a stuck store. s3rver lists at 3,000-11,000 objects/s; this lists far faster.
 */
export interface FakeObject {
  key: string
  etag: string
  size: number
  /** Epoch ms, whole seconds as S3 reports them. */
  lastModified: number
  contentType: string
  metadata: Record<string, string>
}

export interface FakeRequest {
  op: 'list' | 'head' | 'get' | 'put' | 'delete' | 'create-bucket'
  bucket: string
  key: string
  /** For `list`: the 1-based page number within one listing (1 when no continuation token). */
  page: number
}

export interface Fault { status: number, code: string, message?: string }

export interface FakeS3 {
  endpoint: string
  /** Answers with a fault instead of the real result when it returns one. */
  intercept: ((req: FakeRequest) => Fault | undefined) | undefined
  latencyMs: number
  /**
   * Buckets whose requests are accepted and then left hanging: `silent` never answers,
   * `body` sends the status line, headers and a first chunk, then nothing more.
   */
  hang: Map<string, 'silent' | 'body'>
  /** Requests hanging now. */
  readonly hanging: number
  /** Requests served, by operation. */
  counts: Record<FakeRequest['op'], number>
  createBucket (name: string): void
  /** Adds or replaces objects directly (no HTTP), for large fixtures. */
  seed (bucket: string, objects: Iterable<Partial<FakeObject> & { key: string }>): void
  put (bucket: string, key: string, body?: string, opts?: { contentType?: string, metadata?: Record<string, string>, lastModified?: number }): FakeObject
  remove (bucket: string, key: string): boolean
  objects (bucket: string): FakeObject[]
  close (): Promise<void>
}

class SortedBucket {
  keys: string[] = []
  byKey = new Map<string, FakeObject>()
  #dirty = false

  upsert (obj: FakeObject, bulk = false): void {
    if (!this.byKey.has(obj.key)) {
      if (bulk) { this.keys.push(obj.key); this.#dirty = true } else this.keys.splice(this.#indexAfter(obj.key), 0, obj.key)
    }
    this.byKey.set(obj.key, obj)
  }

  remove (key: string): boolean {
    if (!this.byKey.delete(key)) return false
    this.#sort()
    this.keys.splice(this.#indexAfter(key) - 1, 1)
    return true
  }

  /** Index of the first key above `bound` (or at it, with `inclusive`); S3 orders by UTF-8 bytes. */
  #indexAfter (bound: string, inclusive = false): number {
    this.#sort()
    let lo = 0
    let hi = this.keys.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      const c = byteCompare(this.keys[mid]!, bound)
      if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  page (after: string, prefix: string, max: number): { items: FakeObject[], truncated: boolean } {
    let i = byteCompare(after, prefix) >= 0 ? this.#indexAfter(after) : this.#indexAfter(prefix, true)
    const items: FakeObject[] = []
    while (i < this.keys.length && items.length < max) {
      const key = this.keys[i++]!
      if (!key.startsWith(prefix)) break
      items.push(this.byKey.get(key)!)
    }
    const truncated = i < this.keys.length && this.keys[i]!.startsWith(prefix)
    return { items, truncated }
  }

  /** Keys grouped at `delimiter` into common prefixes, each counted as one entry, up to `max`. */
  pageGrouped (after: string, prefix: string, delimiter: string, max: number): { items: FakeObject[], prefixes: string[], truncated: boolean } {
    const items: FakeObject[] = []
    const prefixes: string[] = []
    let from = after
    while (items.length + prefixes.length < max) {
      const { items: [next] } = this.page(from, prefix, 1)
      if (!next) return { items, prefixes, truncated: false }
      const cut = next.key.indexOf(delimiter, prefix.length)
      if (cut < 0) { items.push(next); from = next.key; continue }
      const common = next.key.slice(0, cut + delimiter.length)
      prefixes.push(common)
      from = common + '\u{10ffff}'.repeat(4) // past every key under the common prefix
    }
    return { items, prefixes, truncated: false } // the first `max` entries only: no continuation
  }

  #sort (): void {
    if (!this.#dirty) return
    this.keys.sort(byteCompare)
    this.#dirty = false
  }
}

function byteCompare (a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a), Buffer.from(b))
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex')
const xml = (s: string) => s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
// S3's listing encoding: percent-encoding that keeps `/` and writes a space as `+`.
const s3UrlEncode = (s: string) => encodeURIComponent(s).replace(/%2F/g, '/').replace(/%20/g, '+')
const wholeSeconds = (ms: number) => Math.floor(ms / 1000) * 1000

export async function startFakeS3 (opts: { latencyMs?: number } = {}): Promise<FakeS3> {
  const buckets = new Map<string, SortedBucket>()
  const stalled = new Set<ServerResponse>()
  const fake: FakeS3 = {
    endpoint: '',
    intercept: undefined,
    latencyMs: opts.latencyMs ?? 0,
    hang: new Map(),
    get hanging () { return stalled.size },
    counts: { list: 0, head: 0, get: 0, put: 0, delete: 0, 'create-bucket': 0 },
    createBucket (name) { if (!buckets.has(name)) buckets.set(name, new SortedBucket()) },
    seed (bucket, objects) {
      const b = mustBucket(bucket)
      for (const o of objects) b.upsert(complete(o), true)
    },
    put (bucket, key, body = 'x', o = {}) {
      const obj = complete({ key, etag: md5(body), size: Buffer.byteLength(body), contentType: o.contentType, metadata: o.metadata, lastModified: o.lastModified })
      mustBucket(bucket).upsert(obj)
      return obj
    },
    remove: (bucket, key) => mustBucket(bucket).remove(key),
    objects (bucket) {
      const b = mustBucket(bucket)
      return b.page('', '', Infinity).items
    },
    close: async () => {}
  }

  function mustBucket (name: string): SortedBucket {
    const b = buckets.get(name)
    if (!b) throw new Error(`fake S3: no bucket ${name}`)
    return b
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(err => send(res, 500, errorXml('InternalError', (err as Error).message)))
  })

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x')
    const [, bucket = '', ...rest] = url.pathname.split('/')
    const key = decodeURIComponent(rest.join('/'))
    const body = await readBody(req)
    const op = operation(req.method ?? 'GET', key, url)
    fake.counts[op]++
    const page = op === 'list' ? pageNumber(url.searchParams.get('continuation-token')) : 0
    if (fake.latencyMs > 0) await new Promise(resolve => setTimeout(resolve, fake.latencyMs))
    const hang = fake.hang.get(decodeURIComponent(bucket))
    if (hang) return stall(res, hang)
    const fault = fake.intercept?.({ op, bucket: decodeURIComponent(bucket), key, page })
    if (fault) return send(res, fault.status, op === 'head' ? '' : errorXml(fault.code, fault.message ?? fault.code))
    if (op === 'create-bucket') { fake.createBucket(bucket); return send(res, 200, '') }
    const b = buckets.get(decodeURIComponent(bucket))
    if (!b) return send(res, 404, op === 'head' ? '' : errorXml('NoSuchBucket', 'The specified bucket does not exist'))
    if (op === 'list') return list(res, decodeURIComponent(bucket), b, url.searchParams, page)
    if (op === 'put') {
      const obj = fake.put(bucket, key, body, { contentType: req.headers['content-type'], metadata: metaFrom(req) })
      res.setHeader('ETag', `"${obj.etag}"`)
      return send(res, 200, '')
    }
    if (op === 'delete') { b.remove(key); return send(res, 204, '') }
    const obj = b.byKey.get(key)
    if (!obj) return send(res, 404, op === 'head' ? '' : errorXml('NoSuchKey', 'The specified key does not exist.'))
    res.setHeader('Content-Type', obj.contentType)
    res.setHeader('ETag', `"${obj.etag}"`)
    res.setHeader('Last-Modified', new Date(obj.lastModified).toUTCString())
    for (const [name, value] of Object.entries(obj.metadata)) res.setHeader(`x-amz-meta-${name}`, value)
    res.setHeader('Content-Length', String(obj.size))
    res.statusCode = 200
    res.end(op === 'get' ? 'x'.repeat(obj.size) : undefined)
  }

  // Left open until the client gives up (or close()): what a store that accepted the request and stalled looks like.
  function stall (res: ServerResponse, mode: 'silent' | 'body'): void {
    stalled.add(res)
    res.on('close', () => stalled.delete(res))
    if (mode === 'silent') return
    res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': '65536' })
    res.write('<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">')
  }

  function list (res: ServerResponse, name: string, b: SortedBucket, q: URLSearchParams, page: number): void {
    const token = q.get('continuation-token')
    const after = token ? Buffer.from(token, 'base64url').toString().replace(/^\d+\n/, '') : q.get('start-after') ?? ''
    const max = Math.min(1000, Number(q.get('max-keys') ?? 1000))
    const prefix = q.get('prefix') ?? ''
    const delimiter = q.get('delimiter')
    const { items, truncated, prefixes } = delimiter ? b.pageGrouped(after, prefix, delimiter, max) : { ...b.page(after, prefix, max), prefixes: [] }
    const last = items[items.length - 1]
    const next = truncated && last ? Buffer.from(`${page + 1}\n${last.key}`).toString('base64url') : undefined
    const encoded = q.get('encoding-type') === 'url'
    const enc = (v: string) => encoded ? s3UrlEncode(v) : v
    const parts = [
      '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
      encoded ? '<EncodingType>url</EncodingType>' : '',
      `<Name>${xml(name)}</Name><Prefix>${xml(enc(prefix))}</Prefix><KeyCount>${items.length}</KeyCount><MaxKeys>${max}</MaxKeys>`,
      `<IsTruncated>${truncated}</IsTruncated>`,
      token ? `<ContinuationToken>${token}</ContinuationToken>` : '',
      next ? `<NextContinuationToken>${next}</NextContinuationToken>` : ''
    ]
    for (const o of items) {
      parts.push(`<Contents><Key>${xml(enc(o.key))}</Key><LastModified>${new Date(o.lastModified).toISOString()}</LastModified>` +
        `<ETag>&quot;${o.etag}&quot;</ETag><Size>${o.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`)
    }
    for (const p of prefixes) parts.push(`<CommonPrefixes><Prefix>${xml(enc(p))}</Prefix></CommonPrefixes>`)
    parts.push('</ListBucketResult>')
    res.setHeader('Content-Type', 'application/xml')
    send(res, 200, parts.join(''))
  }

  server.keepAliveTimeout = 60_000
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  fake.endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  fake.close = async () => {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  }
  return fake
}

function complete (o: Partial<FakeObject> & { key: string }): FakeObject {
  return {
    key: o.key,
    etag: o.etag ?? md5(o.key),
    size: o.size ?? 1,
    lastModified: wholeSeconds(o.lastModified ?? Date.now()),
    contentType: o.contentType ?? 'application/octet-stream',
    metadata: o.metadata ?? {}
  }
}

function operation (method: string, key: string, url: URL): FakeRequest['op'] {
  if (method === 'GET' && key === '') return 'list'
  if (method === 'PUT' && key === '') return 'create-bucket'
  if (method === 'HEAD') return 'head'
  if (method === 'PUT') return 'put'
  if (method === 'DELETE') return 'delete'
  return url.searchParams.has('list-type') ? 'list' : 'get'
}

// The token carries the page number so faults can target "page N" of a listing.
function pageNumber (token: string | null): number {
  if (!token) return 1
  const n = Number.parseInt(Buffer.from(token, 'base64url').toString(), 10)
  return Number.isFinite(n) ? n : 1
}

function metaFrom (req: IncomingMessage): Record<string, string> {
  const meta: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-amz-meta-') && typeof value === 'string') meta[name.slice(11)] = value
  }
  return meta
}

async function readBody (req: IncomingMessage): Promise<string> {
  let body = ''
  for await (const chunk of req) body += chunk
  return body
}

function errorXml (code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xml(message)}</Message><RequestId>fake</RequestId></Error>`
}

function send (res: ServerResponse, status: number, body: string): void {
  res.statusCode = status
  if (body && !res.hasHeader('Content-Type')) res.setHeader('Content-Type', 'application/xml')
  res.end(body)
}
