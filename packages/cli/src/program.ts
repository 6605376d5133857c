import { Command, CommanderError, Option } from 'commander'
import { CliContext, type CliIo } from './context.ts'
import { CliError, EXIT } from './errors.ts'
import { loginCommand } from './commands/login.ts'
import { bucketCommands } from './commands/buckets.ts'
import { subscriptionCommands } from './commands/subscriptions.ts'
import { deadLetterCommands } from './commands/dead-letters.ts'
import { eventCommands } from './commands/events.ts'

export { EXIT, CliError } from './errors.ts'
export type { CliIo } from './context.ts'

const EXIT_HELP = `
Exit codes:
  0  done
  1  unexpected failure
  2  wrong command line (unknown command or option, missing argument, bad value)
  3  not logged in, wrong client credentials, or a token without the scope
  4  not found
  5  already exists
  6  the API refused the input (the message names the field)
  7  the API is unreachable, rate limited or failing (5xx, Redis unavailable)
  8  subscriptions test: the receiver did not take the test event

Secrets (--secret-key, --client-secret, ...) may be given as "-" to read them from stdin,
or for add and login from their environment variable (see each command's --help); give them
that way rather than on the command line, which other users of the machine can see.
`

/** The whole command tree, writing through `io`; commander's own output goes there too. */
export function buildProgram (io: CliIo): Command {
  const ctx = new CliContext(io)
  const program = new Command('watch-folder')
    .description('Manage watch-folder (buckets, subscriptions, dead letters, events) through the monitor\'s REST API')
    .addOption(new Option('-o, --output <format>', 'json or table (default: table on a terminal, JSON otherwise)').choices(['json', 'table']))
    .addHelpText('after', EXIT_HELP)
    .showHelpAfterError('(add --help for usage)')
  program.configureOutput({ writeOut: s => io.stdout.write(s), writeErr: s => io.stderr.write(s) })
  loginCommand(program, ctx)
  bucketCommands(program, ctx)
  subscriptionCommands(program, ctx)
  deadLetterCommands(program, ctx)
  eventCommands(program, ctx)
  applyToAll(program, cmd => {
    cmd.exitOverride()
    cmd.configureOutput({ writeOut: s => io.stdout.write(s), writeErr: s => io.stderr.write(s) })
  })
  return program
}

function applyToAll (cmd: Command, fn: (c: Command) => void): void {
  fn(cmd)
  for (const sub of cmd.commands) applyToAll(sub, fn)
}

/** Runs one command line (without node and the script); answers the exit code. */
export async function run (argv: string[], io: CliIo): Promise<number> {
  const program = buildProgram(io)
  try {
    if (argv.length === 0) { program.outputHelp(); return EXIT.usage }
    await program.parseAsync(argv, { from: 'user' })
    return EXIT.ok
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok
      return EXIT.usage // commander has written its one-line message
    }
    if (err instanceof CliError) {
      io.stderr.write(`watch-folder: ${err.message}\n`)
      return err.exitCode
    }
    io.stderr.write(`watch-folder: ${(err as Error).message ?? String(err)}\n`)
    return EXIT.failure
  }
}
