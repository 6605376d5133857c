import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'

export interface ReceivedRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
  json: any
  receivedAt: number
}

export interface Receiver {
  url: string
  requests: ReceivedRequest[]
  /** Decides each answer; the default answers 200. */
  respond: (req: ReceivedRequest, res: ServerResponse) => void | Promise<void>
  close (): Promise<void>
}

/** A real HTTP webhook receiver on a free loopback port that records every request. */
export async function startReceiver (path = '/hook'): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    requests: [],
    respond: (_req, res) => { res.statusCode = 200; res.end('ok') },
    close: async () => {}
  }
  const server = createServer(async (req, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    let json: unknown
    try { json = JSON.parse(body) } catch { json = undefined }
    const record = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, json, receivedAt: Date.now() }
    receiver.requests.push(record)
    await receiver.respond(record, res)
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  receiver.url = `http://127.0.0.1:${port}${path}`
  receiver.close = async () => {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  }
  return receiver
}
