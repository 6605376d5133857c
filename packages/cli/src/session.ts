import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { CliError, EXIT } from './errors.ts'

/** What `login` keeps: where the API is, the client, and the cached token. */
export interface Session {
  url: string
  client_id: string
  client_secret: string
  access_token?: string
  /** Epoch ms after which the token is taken for expired. */
  expires_at?: number
}

/** The config directory: $XDG_CONFIG_HOME/watch-folder, else ~/.config/watch-folder. */
export function configDir (env: Record<string, string | undefined>): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config')
  return join(base, 'watch-folder')
}

/**
 * The session file (credentials.json, mode 0600 in a 0700 directory: it holds the client
 * secret, so a token can be refreshed without asking again). Written whole to a temporary
 * file and renamed, so a crash never leaves half a file.
 */
export class SessionFile {
  readonly path: string
  readonly dir: string

  constructor (dir: string) {
    this.dir = dir
    this.path = join(dir, 'credentials.json')
  }

  read (): Session | undefined {
    let text: string
    try { text = readFileSync(this.path, 'utf8') } catch { return undefined }
    try {
      const s = JSON.parse(text) as Session
      return typeof s.url === 'string' && typeof s.client_id === 'string' && typeof s.client_secret === 'string' ? s : undefined
    } catch {
      throw new CliError(`${this.path} is not valid JSON: run watch-folder login again`, EXIT.auth)
    }
  }

  write (session: Session): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    const tmp = `${this.path}.${process.pid}.tmp`
    writeFileSync(tmp, JSON.stringify(session, null, 2) + '\n', { mode: 0o600 })
    chmodSync(tmp, 0o600)
    renameSync(tmp, this.path)
  }
}
