import type { ServerResponse } from 'node:http'
import type { ActivityEvent, Redis } from '@internal/redis'
import type { Logger } from '@internal/telemetry'

export interface ActivityFilter { bucket?: string | undefined, subscription?: string | undefined }

export interface ActivityHubOptions {
  /** A connection of its own, for SUBSCRIBE only. */
  subscriber: Redis
  channel: string
  log: Logger
  heartbeatMs: number
  /** Bytes a client may leave unread (kernel buffers full) before it is dropped. */
  maxBufferBytes: number
}

interface Client { res: ServerResponse, filter: ActivityFilter }

const matches = (f: ActivityFilter, e: ActivityEvent) =>
  (f.bucket === undefined || e.bucket === f.bucket) && (f.subscription === undefined || e.subscription === f.subscription)

/** One event as Server-Sent Events text: `event:` the kind, `data:` its JSON. */
function sseText (e: ActivityEvent): string {
  const { kind, ...data } = e
  return `event: ${kind}\ndata: ${JSON.stringify(data)}\n\n`
}

/**
 * The activity stream of this replica's clients: one Redis subscription (every replica's
 * detections and attempts arrive on one channel), fanned out in memory. A write never waits:
 * a client whose unread bytes pass the bound is disconnected, so it costs the others nothing.
 */
export function createActivityHub (opts: ActivityHubOptions) {
  const clients = new Set<Client>()
  let subscribed: Promise<unknown> | undefined
  let heartbeat: NodeJS.Timeout | undefined
  let dropped = 0

  function write (client: Client, text: string): void {
    if (client.res.destroyed) {
      clients.delete(client)
      return
    }
    client.res.write(text)
    if (client.res.writableLength <= opts.maxBufferBytes) return
    clients.delete(client)
    dropped++
    opts.log.info({ unreadBytes: client.res.writableLength, dropped }, 'activity client dropped: not reading')
    client.res.destroy()
  }

  function deliver (events: ActivityEvent[]): void {
    const texts = events.map(sseText)
    const all = texts.join('')
    for (const client of clients) {
      const f = client.filter
      const text = f.bucket === undefined && f.subscription === undefined ? all : texts.filter((_t, i) => matches(f, events[i]!)).join('')
      if (text !== '') write(client, text)
    }
  }

  opts.subscriber.on('message', (channel: string, message: string) => {
    if (channel !== opts.channel || clients.size === 0) return
    try {
      deliver(JSON.parse(message) as ActivityEvent[])
    } catch (err) {
      opts.log.warn({ err }, 'activity message unreadable')
    }
  })

  return {
    get size () { return clients.size },
    get dropped () { return dropped },
    /** Resolves once this replica listens to the channel (rejects when Redis does not answer). */
    ready (): Promise<unknown> {
      subscribed ??= opts.subscriber.subscribe(opts.channel).catch((err: unknown) => { subscribed = undefined; throw err })
      return subscribed
    },
    /** Streams to `res` (headers sent) until the client goes away or the hub closes. */
    attach (res: ServerResponse, filter: ActivityFilter): void {
      heartbeat ??= setInterval(() => { for (const c of clients) write(c, ': heartbeat\n\n') }, opts.heartbeatMs).unref()
      const client = { res, filter }
      clients.add(client)
      res.on('close', () => clients.delete(client))
    },
    close (): void {
      clearInterval(heartbeat)
      for (const c of clients) c.res.end()
      clients.clear()
    }
  }
}

export type ActivityHub = ReturnType<typeof createActivityHub>
