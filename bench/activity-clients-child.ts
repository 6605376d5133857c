// The activity benchmark's SSE clients, in a process of their own so their CPU is not the
// consumer's: `readers` connections that read every event, and one that sends its request
// and never reads a byte. Driven over IPC; reports how many events the readers got and
// whether the stalled one was disconnected.
import { connect } from 'node:net'

const [url, token, readersText] = process.argv.slice(2) as [string, string, string]
const readers = Number(readersText)
const controller = new AbortController()
let events = 0
let opened = 0

const DATA = Buffer.from('\ndata: ')
// Events in a chunk: its `data:` lines (the monitor writes whole events per chunk).
function countData (chunk: Buffer): number {
  let n = 0
  for (let i = chunk.indexOf(DATA); i >= 0; i = chunk.indexOf(DATA, i + DATA.length)) n++
  return n
}

async function read (): Promise<void> {
  const res = await fetch(`${url}/api/activity`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal })
  if (res.status !== 200) throw new Error(`activity answered ${res.status}`)
  opened++
  for await (const chunk of res.body! as unknown as AsyncIterable<Uint8Array>) events += countData(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
}

const stalled = connect({ host: new URL(url).hostname, port: Number(new URL(url).port) })
stalled.pause()
stalled.on('error', () => {})
stalled.write(`GET /api/activity HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n\r\n`)
for (let i = 0; i < readers; i++) void read().catch(err => { if (!controller.signal.aborted) process.send!({ type: 'error', message: String(err) }) })

const timer = setInterval(() => {
  if (opened < readers) return
  clearInterval(timer)
  process.send!({ type: 'ready' })
}, 20)
process.on('message', () => process.send!({ type: 'counts', events }))
process.on('disconnect', () => { controller.abort(); stalled.destroy(); process.exit(0) })
