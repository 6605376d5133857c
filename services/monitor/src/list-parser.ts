import type { ListObjectsV2Command, _Object } from '@aws-sdk/client-s3'

const CONTENTS = /<Contents>([\s\S]*?)<\/Contents>/g
const ENTITY = /&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

/**
 * The SDK's generic XML deserializer costs about 35 µs per listed object: most of a
 * rescan's CPU, and at 15 pages in flight the monitor's limit, not the store's. This parses
 * the `<Contents>` entries of a ListObjectsV2 answer itself (the few fields the scanner
 * reads, exactly as listed: no whitespace or line-end normalisation) and hands the rest of
 * the answer to the SDK, so truncation, tokens, encoding type, errors, `200` errors and
 * retries are handled as before.
 */
export function withFastContents (command: ListObjectsV2Command): ListObjectsV2Command {
  let contents: _Object[] | undefined
  // Innermost: sees the raw answer before the SDK's deserializer (and its 200-error check) read it.
  command.middlewareStack.add(next => async args => {
    const result = await next(args)
    const response = result.response as { statusCode?: number, body?: unknown }
    contents = undefined
    if (response.statusCode !== 200 || response.body === undefined) return result
    const xml = await readBody(response.body)
    const parsed: _Object[] = []
    response.body = Buffer.from(xml.replace(CONTENTS, (_, entry: string) => { parsed.push(parseEntry(entry)); return '' }))
    contents = parsed
    return result
  }, { step: 'deserialize', name: 'fastListContents', priority: 'low' })
  command.middlewareStack.add(next => async args => {
    const result = await next(args)
    if (contents && contents.length > 0) (result.output as { Contents?: _Object[] }).Contents = contents
    return result
  }, { step: 'initialize', name: 'fastListContentsOutput', priority: 'low' })
  return command
}

async function readBody (body: unknown): Promise<string> {
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8')
  const chunks: Buffer[] = []
  for await (const chunk of body as AsyncIterable<Buffer | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
  return Buffer.concat(chunks).toString('utf8')
}

function parseEntry (entry: string): _Object {
  const lastModified = text(entry, 'LastModified')
  const size = text(entry, 'Size')
  return {
    Key: decode(text(entry, 'Key')),
    ETag: decode(text(entry, 'ETag')),
    LastModified: lastModified === undefined ? undefined : new Date(lastModified),
    Size: size === undefined ? undefined : Number(size)
  }
}

function text (entry: string, tag: string): string | undefined {
  const open = entry.indexOf(`<${tag}>`)
  if (open < 0) return undefined
  const start = open + tag.length + 2
  return entry.slice(start, entry.indexOf(`</${tag}>`, start))
}

const QUOT = '&quot;'

function decode (value: string | undefined): string | undefined {
  if (value === undefined) return value
  const amp = value.indexOf('&')
  if (amp < 0) return value
  // An ETag: quoted, and nothing else to decode (the common case by far).
  if (amp === 0 && value.endsWith(QUOT) && value.indexOf('&', QUOT.length) === value.length - QUOT.length) return `"${value.slice(QUOT.length, -QUOT.length)}"`
  return value.replace(ENTITY, (_, name: string) => {
    if (name[0] !== '#') return NAMED[name]!
    return String.fromCodePoint(name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10))
  })
}
