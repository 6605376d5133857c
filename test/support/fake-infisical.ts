import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import { randomUUID } from 'node:crypto'

export interface FakeSecret {
  id: string
  workspaceId: string
  environment: string
  secretPath: string
  secretKey: string
  secretValue: string
  version: number
  type: string
  createdAt: string
  updatedAt: string
}

export interface FakeInfisical {
  url: string
  /** workspace|environment|path|name -> secret */
  store: Map<string, FakeSecret>
  /** Every request: method, path, query, body (the body includes secret values: tests only). */
  log: Array<{ method: string, path: string, query: Record<string, string>, body: any }>
  /** A service token accepted without login (INFISICAL_TOKEN). */
  serviceToken: string
  /** 'up' answers; a number answers every secrets call with that status; 'hang' holds calls until release(). */
  mode: 'up' | 'hang' | number
  /** Back to 'up', answering every held call. */
  release (): void
  value (name: string, environment?: string, workspaceId?: string): string | undefined
  /** Revokes every token a login issued (universal-auth clients must log in again). */
  revokeTokens (): void
  close (): Promise<void>
}

/**
 * A local HTTP server speaking the part of Infisical's API that @infisical/sdk 5 calls
 * (../shared/notes/test-infra.md, section 4): universal-auth login, and create (POST), read,
 * update (PATCH) and delete of raw secrets, refusing to create a secret that exists, as the
 * real API does.
 */
export async function startFakeInfisical ({ clientId = 'cid', clientSecret = 'csecret' } = {}): Promise<FakeInfisical> {
  const tokens = new Set<string>()
  const held: Array<() => void> = []
  const fake: FakeInfisical = {
    url: '',
    store: new Map(),
    log: [],
    serviceToken: `st.${randomUUID()}`,
    mode: 'up',
    value: (name, environment = 'dev', workspaceId = 'proj') => fake.store.get(key(workspaceId, environment, '/', name))?.secretValue,
    revokeTokens: () => { tokens.clear(); tokens.add(fake.serviceToken) },
    release () {
      fake.mode = 'up'
      for (const answer of held.splice(0)) answer()
    },
    close: async () => {}
  }
  tokens.add(fake.serviceToken)
  const server = createServer((req, res) => { handle(req, res).catch(() => send(res, 500, { message: 'fake failed' })) })
  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x')
    let raw = ''
    for await (const chunk of req) raw += chunk
    const body = raw ? JSON.parse(raw) : {}
    const query = Object.fromEntries(url.searchParams)
    fake.log.push({ method: req.method ?? '', path: url.pathname, query, body })
    if (req.method === 'POST' && url.pathname === '/api/v1/auth/universal-auth/login') {
      if (body.clientId !== clientId || body.clientSecret !== clientSecret) return error(res, 401, 'Invalid credentials')
      const accessToken = `tok-${randomUUID()}`
      tokens.add(accessToken)
      return send(res, 200, { accessToken, expiresIn: 7200, accessTokenMaxTTL: 43200, tokenType: 'Bearer' })
    }
    const answer = () => {
      if (typeof fake.mode === 'number') return error(res, fake.mode, 'unavailable')
      if (!tokens.has((req.headers.authorization ?? '').replace(/^Bearer /, ''))) return error(res, 401, 'Token missing or invalid')
      secrets(req.method ?? '', url.pathname, query, body, res)
    }
    if (fake.mode === 'hang') held.push(answer)
    else answer()
  }
  function secrets (method: string, path: string, query: Record<string, string>, body: any, res: ServerResponse): void {
    const m = path.match(/^\/api\/v3\/secrets\/raw\/([^/]+)$/)
    if (!m) return error(res, 404, 'not found')
    const name = decodeURIComponent(m[1] ?? '')
    const src = method === 'GET' ? query : body
    const k = key(src.workspaceId, src.environment, src.secretPath, name)
    const cur = fake.store.get(k)
    if (method === 'GET') return cur ? send(res, 200, { secret: cur }) : error(res, 404, `Secret with name '${name}' not found`)
    if (method === 'POST') {
      if (cur) return error(res, 400, 'Secret already exist')
      const now = new Date().toISOString()
      const secret: FakeSecret = { id: randomUUID(), workspaceId: src.workspaceId, environment: src.environment, secretPath: src.secretPath ?? '/', secretKey: name, secretValue: body.secretValue, version: 1, type: body.type ?? 'shared', createdAt: now, updatedAt: now }
      fake.store.set(k, secret)
      return send(res, 200, { secret })
    }
    if (!cur) return error(res, 404, `Secret with name '${name}' not found`)
    if (method === 'PATCH') {
      const updated = { ...cur, secretValue: body.secretValue ?? cur.secretValue, version: cur.version + 1, updatedAt: new Date().toISOString() }
      fake.store.set(k, updated)
      return send(res, 200, { secret: updated })
    }
    if (method === 'DELETE') {
      fake.store.delete(k)
      return send(res, 200, { secret: cur })
    }
    error(res, 405, 'method not allowed')
  }
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  fake.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  fake.close = async () => {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  }
  return fake
}

function key (workspaceId: string, environment: string, secretPath: string | undefined, name: string): string {
  return `${workspaceId}|${environment}|${secretPath || '/'}|${name}`
}

function send (res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

function error (res: ServerResponse, status: number, message: string): void {
  send(res, status, { statusCode: status, message, error: STATUS_CODES[status] })
}
