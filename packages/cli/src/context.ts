import type { Command } from 'commander'
import { ApiClient } from './client.ts'
import { CliError, EXIT } from './errors.ts'
import { SessionFile, configDir, type Session } from './session.ts'
import type { Format, Streams } from './output.ts'

/** What commands get from main.ts: the environment, the streams and stdin, and the clock. */
export interface CliIo extends Streams {
  env: Record<string, string | undefined>
  /** Stdin's lines (read once, when a secret is given as "-"). */
  readStdin: () => Promise<string[]>
  now: () => number
  /** Aborted on Ctrl-C: `events tail` and a waiting resync stop cleanly. */
  signal: AbortSignal
  /** Milliseconds between polls while a resync runs. */
  pollMs?: number
}

export class CliContext {
  readonly io: CliIo
  readonly file: SessionFile

  constructor (io: CliIo) {
    this.io = io
    this.file = new SessionFile(configDir(io.env))
  }

  /**
   * The API client: the saved session, with WATCH_FOLDER_URL, WATCH_FOLDER_CLIENT_ID and
   * WATCH_FOLDER_CLIENT_SECRET taking precedence (a script can run without `login`).
   */
  client (): ApiClient {
    const saved = this.file.read()
    const env = this.io.env
    const session: Partial<Session> = { ...saved }
    if (env.WATCH_FOLDER_URL) session.url = env.WATCH_FOLDER_URL
    const fromEnv = env.WATCH_FOLDER_CLIENT_ID && env.WATCH_FOLDER_CLIENT_SECRET
    if (fromEnv) Object.assign(session, { client_id: env.WATCH_FOLDER_CLIENT_ID, client_secret: env.WATCH_FOLDER_CLIENT_SECRET })
    if (fromEnv && saved?.client_id !== env.WATCH_FOLDER_CLIENT_ID) { delete session.access_token; delete session.expires_at }
    if (!session.url || !session.client_id || !session.client_secret) {
      throw new CliError('not logged in: run watch-folder login --url URL --client-id ID (secret from $WATCH_FOLDER_CLIENT_SECRET or stdin)', EXIT.auth)
    }
    return new ApiClient(session as Session, fromEnv ? undefined : this.file, this.io.now)
  }

  /** --output, else table on a terminal and JSON otherwise. */
  format (cmd: Command): Format {
    const chosen = cmd.optsWithGlobals().output as Format | undefined
    return chosen ?? (this.io.stdout.isTTY ? 'table' : 'json')
  }
}
