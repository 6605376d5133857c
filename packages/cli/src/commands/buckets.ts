import type { Command } from 'commander'
import { addFieldOptions, bodyOf, type Field } from '../fields.ts'
import { print } from '../output.ts'
import { waitForScan } from './resync-progress.ts'
import type { CliContext } from '../context.ts'

const BUCKET_FIELDS: Field[] = [
  { api: 'endpoint', kind: 'string', help: 'the S3 endpoint URL (or --region)' },
  { api: 'region', kind: 'string', help: 'the Linode region host, e.g. us-east-1.linodeobjects.com' },
  { api: 'access_key', kind: 'secret', help: 'the S3 access key' },
  { api: 'secret_key', kind: 'secret', help: 'the S3 secret key' },
  { api: 'webhook_url', kind: 'string', help: 'where the bucket\'s events go' },
  { api: 'signing_secret', kind: 'secret', help: 'Standard Webhooks signing secret (whsec_...)' },
  { api: 'webhook_auth.client_id', kind: 'string', help: 'OAuth2 client id for the webhook' },
  { api: 'webhook_auth.client_secret', kind: 'secret', help: 'OAuth2 client secret for the webhook' },
  { api: 'webhook_auth.token_url', kind: 'string', help: 'OAuth2 token URL for the webhook' },
  { api: 'webhook_auth.scope', kind: 'string', help: 'OAuth2 scope for the webhook' },
  { api: 'polling_interval', kind: 'number', help: 'seconds between scans' },
  { api: 'fast_interval', kind: 'number', help: 'seconds between fast-lane scans of the keys after the highest one seen' },
  { api: 'max_requests_per_second', kind: 'number', help: 'S3 requests per second the bucket may receive from all replicas' },
  { api: 'include', kind: 'list', help: 'glob patterns of keys to track (repeat or comma-separate)' },
  { api: 'exclude', kind: 'list', help: 'glob patterns of keys to ignore' },
  { api: 'first_scan', kind: 'string', help: 'what the first scan does', choices: ['emit', 'baseline'] },
  { api: 'signing_region', kind: 'string', help: 'the SigV4 signing region' },
  { api: 'notifications_enabled', kind: 'boolean', help: 'whether webhooks are sent' }
]

const LIST_COLUMNS = ['name', 'endpoint', 'webhook_url', 'notifications_enabled', 'polling_interval', 'status']

/** buckets add|list|show|update|delete|enable|disable|resync|replay */
export function bucketCommands (program: Command, ctx: CliContext): void {
  const buckets = program.command('buckets').description('Add, change, inspect and scan the watched buckets')
  const read = (io: { secretsFromEnv: boolean }) => ({ env: ctx.io.env, readStdin: ctx.io.readStdin, ...io })

  addFieldOptions(buckets.command('add <name>').description('Add a bucket (its keys are checked with a one-key listing first)'), BUCKET_FIELDS, { secretsFromEnv: true })
    .action(async (name: string, opts: Record<string, unknown>, cmd: Command) => {
      const body = withAuthType({ name, ...await bodyOf(opts, BUCKET_FIELDS, read({ secretsFromEnv: true })) })
      print(ctx.io, ctx.format(cmd), await ctx.client().request('POST', '/api/buckets/add', { body }))
    })

  buckets.command('list').description('Every bucket (never a secret)').action(async (_opts: unknown, cmd: Command) => {
    const answer = await ctx.client().request<{ buckets: unknown[] }>('GET', '/api/buckets')
    print(ctx.io, ctx.format(cmd), ctx.format(cmd) === 'json' ? answer : answer.buckets, LIST_COLUMNS)
  })

  buckets.command('show <name>').description('One bucket and its scan status').action(async (name: string, _opts: unknown, cmd: Command) => {
    const answer = await ctx.client().request<{ bucket: object, status: object }>('GET', `/api/buckets/${encodeURIComponent(name)}`)
    print(ctx.io, ctx.format(cmd), ctx.format(cmd) === 'json' ? answer : { ...answer.bucket, ...prefixed('status.', answer.status) })
  })

  addFieldOptions(buckets.command('update <name>').description('Change fields of a bucket (both keys together rotate its credentials)'), BUCKET_FIELDS, { secretsFromEnv: false })
    .option('--remove-webhook-auth', 'remove the webhook\'s OAuth2 client')
    .option('--remove-signing-secret', 'remove the signing secret')
    .action(async (name: string, opts: Record<string, unknown>, cmd: Command) => {
      const body: Record<string, unknown> = withAuthType({ name, ...await bodyOf(opts, BUCKET_FIELDS, read({ secretsFromEnv: false })) })
      if (opts.removeWebhookAuth) body.webhook_auth = null
      if (opts.removeSigningSecret) body.signing_secret = null
      print(ctx.io, ctx.format(cmd), await ctx.client().request('POST', '/api/buckets/update', { body }))
    })

  buckets.command('delete <name>').description('Delete a bucket: config, schedule, state and secrets').action(async (name: string, _opts: unknown, cmd: Command) => {
    print(ctx.io, ctx.format(cmd), await ctx.client().request('POST', '/api/buckets/delete', { query: { bucket: name } }))
  })

  for (const state of ['enable', 'disable'] as const) {
    buckets.command(`${state} <name>`).description(`${state === 'enable' ? 'Turn on' : 'Turn off'} a bucket's webhooks (its scans go on)`)
      .action(async (name: string, _opts: unknown, cmd: Command) => {
        print(ctx.io, ctx.format(cmd), await ctx.client().request('POST', `/api/bucket-notifications/${state}`, { query: { bucket: name } }))
      })
  }

  buckets.command('resync <name>').description('Scan a bucket now, showing progress until the scan ends')
    .option('--forget', 'drop the object state first, so every object is announced again')
    .option('--no-wait', 'return once the scan is requested')
    .action(async (name: string, opts: { forget?: boolean, wait: boolean }, cmd: Command) => {
      const client = ctx.client()
      const requestedAt = ctx.io.now()
      const answer = await client.request('POST', `/api/buckets/${encodeURIComponent(name)}/resync`, { query: { forget: opts.forget ? 'true' : undefined } })
      if (!opts.wait) return print(ctx.io, ctx.format(cmd), answer)
      print(ctx.io, ctx.format(cmd), await waitForScan(client, ctx.io, name, requestedAt))
    })

  buckets.command('replay <name>').description('Re-announce recorded objects as new messages (new event ids, "replay": true), without a scan')
    .option('--since <time>', 'objects last modified at or after this (ISO 8601 or epoch seconds)')
    .option('--until <time>', 'objects last modified at or before this (ISO 8601 or epoch seconds)')
    .option('--prefix <prefix>', 'only keys starting with this')
    .option('--subscription <id>', 'only this subscription gets them (default: every subscription)')
    .action(async (name: string, opts: { since?: string, until?: string, prefix?: string, subscription?: string }, cmd: Command) => {
      const body = { since: instant(opts.since), until: instant(opts.until), prefix: opts.prefix, subscription: opts.subscription }
      print(ctx.io, ctx.format(cmd), await ctx.client().request('POST', `/api/buckets/${encodeURIComponent(name)}/replay`, { body }))
    })
}

// Epoch seconds go as a number, anything else as the string given (the API says what is wrong with it).
function instant (value: string | undefined): string | number | undefined {
  return value !== undefined && /^[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : value
}

// The bucket's nested webhook_auth takes its type: oauth2 is the only one.
function withAuthType (body: Record<string, unknown>): Record<string, unknown> {
  if (body.webhook_auth && typeof body.webhook_auth === 'object') body.webhook_auth = { type: 'oauth2', ...body.webhook_auth }
  return body
}

function prefixed (prefix: string, o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [`${prefix}${k}`, v]))
}
