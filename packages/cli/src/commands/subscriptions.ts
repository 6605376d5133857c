import type { Command } from 'commander'
import { CliError, EXIT } from '../errors.ts'
import { addFieldOptions, bodyOf, type Field } from '../fields.ts'
import { print } from '../output.ts'
import type { CliContext } from '../context.ts'

const SUBSCRIPTION_FIELDS: Field[] = [
  { api: 'webhook_url', kind: 'string', help: 'where this subscription\'s events go' },
  { api: 'events', kind: 'list', help: 'event types it receives (default all)', choices: undefined },
  { api: 'prefix', kind: 'string', help: 'only keys starting with this (literal, case-sensitive)' },
  { api: 'suffix', kind: 'string', help: 'only keys ending with this (literal, case-sensitive)' },
  { api: 'include', kind: 'list', help: 'glob patterns of keys it receives' },
  { api: 'exclude', kind: 'list', help: 'glob patterns of keys it does not receive' },
  { api: 'format', kind: 'string', help: 'the body format', choices: ['original', 's3', 'cloudevents'] },
  { api: 'webhook_auth.client_id', kind: 'string', help: 'OAuth2 client id for the receiver' },
  { api: 'webhook_auth.client_secret', kind: 'secret', help: 'OAuth2 client secret for the receiver' },
  { api: 'webhook_auth.token_url', kind: 'string', help: 'OAuth2 token URL for the receiver' },
  { api: 'webhook_auth.scope', kind: 'string', help: 'OAuth2 scope for the receiver' },
  { api: 'signing_secrets', kind: 'secrets', help: 'Standard Webhooks secrets, comma-separated; every one signs' },
  { api: 'retry_schedule', kind: 'numbers', help: 'seconds to wait before each retry, comma-separated (replaces webhook.retry_schedule)' },
  { api: 'enabled', kind: 'boolean', help: 'whether it receives events' }
]
const EVENT_TYPES = ['created', 'updated', 'detected', 'deleted']
const LIST_COLUMNS = ['id', 'webhook_url', 'events', 'format', 'prefix', 'suffix', 'enabled', 'state']

/** subscriptions add|list|show|update|delete|enable|disable|test, under /api/buckets/{name}/subscriptions. */
export function subscriptionCommands (program: Command, ctx: CliContext): void {
  const subs = program.command('subscriptions').description('Receivers of a bucket\'s events, each with its own filters, format and credentials')
  const base = (bucket: string) => `/api/buckets/${encodeURIComponent(bucket)}/subscriptions`
  const one = (bucket: string, id: string) => `${base(bucket)}/${encodeURIComponent(id)}`
  const body = async (opts: Record<string, unknown>, secretsFromEnv: boolean) => {
    const b = await bodyOf(opts, SUBSCRIPTION_FIELDS, { env: ctx.io.env, readStdin: ctx.io.readStdin, secretsFromEnv })
    const unknown = ((b.events as string[] | undefined) ?? []).filter(e => !EVENT_TYPES.includes(e))
    if (unknown.length > 0) throw new CliError(`--events: ${unknown.join(', ')} is not one of ${EVENT_TYPES.join(', ')}`, EXIT.usage)
    if (b.webhook_auth && typeof b.webhook_auth === 'object') b.webhook_auth = { type: 'oauth2', ...b.webhook_auth }
    return b
  }

  addFieldOptions(subs.command('add <bucket>').description('Add a subscription to a bucket').option('--id <id>', 'its id ([a-z0-9][a-z0-9-]{0,62}; generated when absent)'), SUBSCRIPTION_FIELDS, { secretsFromEnv: true })
    .action(async (bucket: string, opts: Record<string, unknown>, cmd: Command) => {
      const payload = { ...(typeof opts.id === 'string' && { id: opts.id }), ...await body(opts, true) }
      print(ctx.io, ctx.format(cmd), await ctx.client().request('POST', base(bucket), { body: payload }))
    })

  subs.command('list <bucket>').description('A bucket\'s subscriptions (its default one included)').action(async (bucket: string, _opts: unknown, cmd: Command) => {
    const answer = await ctx.client().request<{ subscriptions?: unknown[] } | unknown[]>('GET', base(bucket))
    const rows = Array.isArray(answer) ? answer : answer.subscriptions ?? []
    print(ctx.io, ctx.format(cmd), ctx.format(cmd) === 'json' ? answer : rows, LIST_COLUMNS)
  })

  subs.command('show <bucket> <id>').description('One subscription (state, disabled reason, parked count)').action(async (bucket: string, id: string, _opts: unknown, cmd: Command) => {
    print(ctx.io, ctx.format(cmd), await ctx.client().request('GET', one(bucket, id)))
  })

  addFieldOptions(subs.command('update <bucket> <id>').description('Change fields of a subscription'), SUBSCRIPTION_FIELDS, { secretsFromEnv: false })
    .action(async (bucket: string, id: string, opts: Record<string, unknown>, cmd: Command) => {
      print(ctx.io, ctx.format(cmd), await ctx.client().request('PATCH', one(bucket, id), { body: await body(opts, false) }))
    })

  subs.command('delete <bucket> <id>').description('Delete a subscription and its secrets').action(async (bucket: string, id: string, _opts: unknown, cmd: Command) => {
    print(ctx.io, ctx.format(cmd), await ctx.client().request('DELETE', one(bucket, id)) ?? { status: 'deleted', bucket, id })
  })

  for (const state of ['enable', 'disable'] as const) {
    subs.command(`${state} <bucket> <id>`).description(state === 'enable' ? 'Enable a subscription (its parked events are delivered first)' : 'Disable a subscription (its new events are parked)')
      .action(async (bucket: string, id: string, _opts: unknown, cmd: Command) => {
        print(ctx.io, ctx.format(cmd), await ctx.client().request('POST', `${one(bucket, id)}/${state}`))
      })
  }

  subs.command('test <bucket> <id>').description(`Send a test event to the receiver now (exit ${EXIT.notDelivered} when it is not delivered)`)
    .action(async (bucket: string, id: string, _opts: unknown, cmd: Command) => {
      const answer = await ctx.client().request<{ delivered: boolean, status: number | null, duration_ms: number, error?: string }>('POST', `${one(bucket, id)}/test`)
      print(ctx.io, ctx.format(cmd), answer)
      if (!answer.delivered) throw new CliError(`test event not delivered: ${answer.error ?? `HTTP ${answer.status}`}`, EXIT.notDelivered)
    })
}
