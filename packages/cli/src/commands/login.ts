import { Option, type Command } from 'commander'
import { fetchToken } from '../client.ts'
import { CliError, EXIT } from '../errors.ts'
import { print } from '../output.ts'
import type { CliContext } from '../context.ts'

/** login: checks the client against the token route and saves the session (0600). */
export function loginCommand (program: Command, ctx: CliContext): void {
  program.command('login')
    .description('Log in to a monitor: checks the client credentials and caches the token in $XDG_CONFIG_HOME/watch-folder (0600)')
    .addOption(new Option('--url <url>', 'the monitor\'s base URL, e.g. http://127.0.0.1:8080').env('WATCH_FOLDER_URL'))
    .addOption(new Option('--client-id <id>', 'the API client id').env('WATCH_FOLDER_CLIENT_ID'))
    .option('--client-secret <secret>', 'the API client secret; "-" reads it from stdin; default $WATCH_FOLDER_CLIENT_SECRET')
    .action(async (opts: { url?: string, clientId?: string, clientSecret?: string }, cmd: Command) => {
      if (!opts.url) throw new CliError('login: --url is required (or $WATCH_FOLDER_URL)', EXIT.usage)
      if (!opts.clientId) throw new CliError('login: --client-id is required (or $WATCH_FOLDER_CLIENT_ID)', EXIT.usage)
      let secret = opts.clientSecret ?? ctx.io.env.WATCH_FOLDER_CLIENT_SECRET
      if (secret === '-') secret = (await ctx.io.readStdin())[0]
      if (!secret) throw new CliError('login: --client-secret is required: give it as $WATCH_FOLDER_CLIENT_SECRET or on stdin with --client-secret -', EXIT.usage)
      const url = new URL(opts.url).origin
      const token = await fetchToken(url, opts.clientId, secret)
      ctx.file.write({ url, client_id: opts.clientId, client_secret: secret, access_token: token.access_token, expires_at: ctx.io.now() + token.expires_in * 1000 })
      print(ctx.io, ctx.format(cmd), { status: 'logged in', url, client_id: opts.clientId, scope: token.scope, expires_in: token.expires_in, saved_to: ctx.file.path })
    })
}
