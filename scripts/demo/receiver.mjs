// A sample webhook receiver: prints each delivery as one readable line and answers 204.
// Plain JavaScript with no dependencies, so it runs on a bare node image (docker-compose.yml)
// as well as from `npm run demo`. Environment:
//   PORT            port to listen on (default 9000)
//   HOST            address to bind (default 0.0.0.0)
//   SIGNING_SECRET  the bucket's signing_secret: verifies the Standard Webhooks signature
//   EVENTS_FILE     also append every received body as one JSON line to this file
import { createServer } from 'node:http'
import { appendFileSync } from 'node:fs'
import { verifySignature } from './verify-signature.mjs'

const port = Number(process.env.PORT ?? 9000)
const host = process.env.HOST ?? '0.0.0.0'
const secret = process.env.SIGNING_SECRET
const eventsFile = process.env.EVENTS_FILE
const color = process.stdout.isTTY && !process.env.NO_COLOR
const paint = (code, text) => color ? `\x1b[${code}m${text}\x1b[0m` : text
const TYPE_COLOR = { created: 32, updated: 33, detected: 36, deleted: 31 }
let received = 0

function formatSize (bytes) {
  if (typeof bytes !== 'number') return '-'
  return bytes < 1024 ? `${bytes} B` : bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1048576).toFixed(1)} MiB`
}

function describe (event, headers, body) {
  const now = Date.now() / 1000
  const type = String(event.event_type ?? headers['x-event-type'] ?? '?')
  const latency = typeof event.detection_time === 'number' ? `, delivered ${Math.max(0, now - event.detection_time).toFixed(2)}s after detection` : ''
  const attempt = event.retry_count > 1 ? paint(33, `, attempt ${event.retry_count}`) : ''
  const signed = secret ? (verifySignature(secret, headers, body) ? paint(32, ', signature ok') : paint(31, ', SIGNATURE BAD')) : ''
  return [
    paint(2, new Date().toISOString().slice(11, 23)),
    paint(TYPE_COLOR[type] ?? 0, type.padEnd(8)),
    `${event.bucket ?? headers['x-bucket-name']}/${event.key}`,
    paint(2, `${formatSize(event.size)}${latency}`) + attempt + signed
  ].join('  ')
}

const server = createServer((req, res) => {
  const chunks = []
  req.on('data', c => chunks.push(c))
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8')
    try {
      const event = JSON.parse(body)
      received++
      console.log(describe(event, req.headers, body))
      if (eventsFile) appendFileSync(eventsFile, JSON.stringify(event) + '\n')
      res.writeHead(204).end()
    } catch {
      console.log(paint(31, `not JSON: ${body.slice(0, 120)}`))
      res.writeHead(400).end()
    }
  })
})

server.listen(port, host, () => console.log(paint(1, `webhook receiver listening on http://${host}:${port}/ (Ctrl-C to stop)`)))
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.log(paint(2, `receiver stopping after ${received} webhooks`))
    server.close(() => process.exit(0))
    setTimeout(() => process.exit(0), 1000).unref()
  })
}
