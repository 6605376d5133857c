import type { Command } from 'commander'
import { CliError, EXIT } from '../errors.ts'
import { print, table } from '../output.ts'
import type { CliContext } from '../context.ts'

/** events show ID (delivery history) and events tail (the live activity stream, Server-Sent Events). */
export function eventCommands (program: Command, ctx: CliContext): void {
  const events = program.command('events').description('An event\'s delivery history, and the live activity stream')

  events.command('show <id>').description('An event and, per subscription, its state and every attempt (GET /api/events/{id})')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const answer = await routeOr404(ctx.client().request<{ event: object, deliveries?: Array<{ subscription: string, state: string, attempts: unknown[] }> }>('GET', `/api/events/${encodeURIComponent(id)}`), 'GET /api/events/{id}')
      if (ctx.format(cmd) === 'json') return print(ctx.io, 'json', answer)
      print(ctx.io, 'table', answer.event)
      for (const d of answer.deliveries ?? []) {
        ctx.io.stdout.write(`\n${d.subscription}: ${d.state}\n${table(d.attempts as Array<Record<string, unknown>>, ['at', 'status', 'duration_ms', 'error'])}\n`)
      }
    })

  events.command('tail').description('Follow the activity stream (GET /api/activity): one line per detection, attempt and state change; Ctrl-C stops')
    .option('--bucket <name>', 'only this bucket')
    .option('--subscription <id>', 'only this subscription')
    .action(async (opts: { bucket?: string, subscription?: string }, cmd: Command) => {
      const json = ctx.format(cmd) === 'json'
      const res = await routeOr404(ctx.client().stream('/api/activity', { bucket: opts.bucket, subscription: opts.subscription }, ctx.io.signal), 'GET /api/activity')
      try {
        for await (const event of serverSentEvents(res.body!)) {
          if (event.type === 'heartbeat') continue
          ctx.io.stdout.write(json ? JSON.stringify(event.data) + '\n' : activityLine(event.data) + '\n')
        }
      } catch (err) {
        if ((err as Error).name !== 'AbortError') throw err
      }
    })
}

// The API's answer for a path it has no route for is exactly `Not found`; say which route is missing.
async function routeOr404<T> (call: Promise<T>, route: string): Promise<T> {
  try {
    return await call
  } catch (err) {
    if (err instanceof CliError && err.message === 'Not found [HTTP 404]') throw new CliError(`this monitor does not serve ${route} (a version without delivery history and the activity stream)`, EXIT.notFound)
    throw err
  }
}

/** One readable line of an activity event: time, type, bucket/key, subscription, status, latency. */
export function activityLine (e: Record<string, unknown>): string {
  const parts = [
    String(e.at ?? e.time ?? new Date().toISOString()),
    String(e.type ?? e.event_type ?? 'event').padEnd(9),
    `${String(e.bucket ?? '-')}/${String(e.key ?? '')}`
  ]
  if (e.subscription !== undefined) parts.push(`sub=${String(e.subscription)}`)
  if (e.status !== undefined && e.status !== null) parts.push(`status=${String(e.status)}`)
  const latency = e.latency_ms ?? e.latency
  if (latency !== undefined && latency !== null) parts.push(`${String(latency)} ms`)
  return parts.join('  ')
}

/** The events of a text/event-stream body: `event:` names the type, `data:` lines carry JSON. */
export async function * serverSentEvents (body: ReadableStream<Uint8Array>): AsyncGenerator<{ type: string, data: Record<string, unknown> }> {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true }).replaceAll('\r\n', '\n')
    let end: number
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const lines = block.split('\n').filter(l => !l.startsWith(':'))
      const type = lines.find(l => l.startsWith('event:'))?.slice(6).trim() ?? 'message'
      const data = lines.filter(l => l.startsWith('data:')).map(l => l.slice(5).trimStart()).join('\n')
      if (data === '' && type === 'message') continue
      let parsed: Record<string, unknown>
      try { parsed = JSON.parse(data) as Record<string, unknown> } catch { parsed = { message: data } }
      yield { type, data: { type: parsed.type ?? type, ...parsed } }
    }
  }
}
