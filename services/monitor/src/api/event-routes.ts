import type { HistoryAttempt, HistoryDelivery, HistoryRecord, History } from '@internal/redis'
import { EventNotFoundError, parseInput } from './errors.ts'
import { ErrorAnswer } from './schemas.ts'
import { BucketEventsParams, BucketEventsQuery, EventAnswer, EventIdParams, EventListAnswer } from './event-schemas.ts'
import type { RouteSpec } from './route-spec.ts'

const iso = (ms: number) => new Date(ms).toISOString()

function attemptAnswer (a: HistoryAttempt) {
  return { at: iso(a.at), status: a.status ?? null, duration_ms: a.duration_ms, error: a.error ?? null, excerpt: a.excerpt ?? null }
}

function timing (d: HistoryDelivery) {
  return { ...(d.next_at !== undefined && { next_at: iso(d.next_at) }), ...(d.reason !== undefined && { reason: d.reason }) }
}

function eventAnswer (rec: HistoryRecord) {
  return { event: rec.event, deliveries: rec.deliveries.map(d => ({ subscription: d.subscription, state: d.state, ...timing(d), attempts: d.attempts.map(attemptAnswer) })) }
}

function summary (rec: HistoryRecord) {
  const detected = rec.event.detection_time
  return {
    event: rec.event,
    detected_at: typeof detected === 'number' ? iso(detected * 1000) : null,
    deliveries: rec.deliveries.map(d => ({ subscription: d.subscription, state: d.state, attempt_count: d.attempts.length, last_status: d.attempts.at(-1)?.status ?? null, ...timing(d) }))
  }
}

/** The attempt history: one event with every attempt, and a bucket's recent events. */
export function eventRoutes (history: History): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/api/events/:event_id',
      auth: true,
      operationId: 'getEvent',
      summary: 'One event and, per subscription, its state and attempts',
      description: 'The event as queued and, for each subscription it went to, its state (delivered, scheduled, in_flight, parked, dead) and its last 20 attempts with time, HTTP status or error, duration and a response excerpt. Kept for consumer.history_ttl after its last step; 404 EVENT_NOT_FOUND after that.',
      params: EventIdParams,
      responses: { 200: { description: 'the event', schema: EventAnswer }, 404: { description: 'unknown or expired (code EVENT_NOT_FOUND)', schema: ErrorAnswer } },
      handler: async request => {
        const { event_id: id } = parseInput(EventIdParams, request.params, 'params')
        const rec = await history.get(id)
        if (!rec) throw new EventNotFoundError(id)
        return eventAnswer(rec)
      }
    },
    {
      method: 'GET',
      url: '/api/buckets/:name/events',
      auth: true,
      operationId: 'listBucketEvents',
      summary: 'A bucket\'s recent events, newest first',
      description: 'The events detected in the bucket within consumer.history_ttl, newest first, each with its deliveries\' states. `since`/`until` (ISO 8601 or epoch seconds, inclusive) bound the detection time; `type` and `state` filter; pass `next_cursor` as `cursor` for the next page.',
      params: BucketEventsParams,
      query: BucketEventsQuery,
      responses: { 200: { description: 'a page', schema: EventListAnswer }, 400: { description: 'bad input (the field is named)', schema: ErrorAnswer } },
      handler: async request => {
        const { name } = parseInput(BucketEventsParams, request.params, 'params')
        const q = parseInput(BucketEventsQuery, request.query ?? {}, 'query')
        const page = await history.page(name, {
          limit: q.limit,
          ...(q.since !== undefined && { sinceMs: q.since }),
          ...(q.until !== undefined && { untilMs: q.until }),
          ...(q.cursor !== undefined && { after: q.cursor }),
          match: rec => (q.type === undefined || rec.event.event_type === q.type) && (q.state === undefined || rec.deliveries.some(d => d.state === q.state))
        })
        return { events: page.items.map(summary), next_cursor: page.next === undefined ? null : Buffer.from(page.next).toString('base64url') }
      }
    }
  ]
}
