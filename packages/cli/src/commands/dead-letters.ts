import type { Command } from 'commander'
import { CliError, EXIT } from '../errors.ts'
import { print } from '../output.ts'
import type { CliContext } from '../context.ts'

const PAGE = 500
const COLUMNS = ['id', 'dead_at', 'attempts', 'last_status', 'event.bucket', 'event.key', 'event.event_type', 'reason']

/** dead-letters list|show|replay|purge */
export function deadLetterCommands (program: Command, ctx: CliContext): void {
  const dead = program.command('dead-letters').description('Events the consumer gave up on')

  dead.command('list').description('Dead letters, newest first')
    .option('--offset <n>', 'skip this many', '0')
    .option('--limit <n>', 'answer at most this many (1-500)', '50')
    .action(async (opts: { offset: string, limit: string }, cmd: Command) => {
      const page = await ctx.client().request<{ items: unknown[] }>('GET', '/api/dead-letters', { query: { offset: opts.offset, limit: opts.limit } })
      print(ctx.io, ctx.format(cmd), ctx.format(cmd) === 'json' ? page : page.items, COLUMNS)
    })

  dead.command('show <id>').description('One dead letter with its event').action(async (id: string, _opts: unknown, cmd: Command) => {
    print(ctx.io, ctx.format(cmd), await findDeadLetter(ctx, id))
  })

  for (const verb of ['replay', 'purge'] as const) {
    dead.command(`${verb} [ids...]`)
      .description(verb === 'replay' ? 'Put dead letters back on the delivery queue (they keep their event ids)' : 'Delete dead letters for good')
      .option('--all', `${verb} every dead letter`)
      .action(async (ids: string[], opts: { all?: boolean }, cmd: Command) => {
        if (Boolean(opts.all) === (ids.length > 0)) throw new CliError(`dead-letters ${verb}: give ids or --all, not both and not neither`, EXIT.usage)
        const body = opts.all ? { all: true } : { ids }
        print(ctx.io, ctx.format(cmd), await ctx.client().request('POST', `/api/dead-letters/${verb}`, { body }))
      })
  }
}

// The API lists dead letters page by page; one is found by reading pages until it shows.
async function findDeadLetter (ctx: CliContext, id: string): Promise<unknown> {
  const client = ctx.client()
  for (let offset = 0; ; offset += PAGE) {
    const page = await client.request<{ total: number, items: Array<{ id: string }> }>('GET', '/api/dead-letters', { query: { offset, limit: PAGE } })
    const found = page.items.find(item => item.id === id)
    if (found) return found
    if (offset + PAGE >= page.total) throw new CliError(`Dead letter ${id} not found`, EXIT.notFound)
  }
}
