import { parseInput } from './errors.ts'
import { ErrorAnswer } from './schemas.ts'
import { ActivityQuery } from './event-schemas.ts'
import type { ActivityHub } from './activity-hub.ts'
import type { RouteSpec } from './route-spec.ts'

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no' // a proxy in front must not hold the stream back
}

/** GET /api/activity: the live activity stream as Server-Sent Events. */
export function activityRoute (hub: ActivityHub): RouteSpec {
  return {
    method: 'GET',
    url: '/api/activity',
    auth: true,
    operationId: 'streamActivity',
    summary: 'Live activity of every replica as Server-Sent Events',
    description: 'One event per detection (`event: detection`), delivery attempt (`event: attempt`) and state change without an attempt (`event: state`), each with `data:` JSON: at, bucket, key, event_id, type (the event type of a detection, else the delivery state), subscription, status, duration_ms, latency_ms (from detection), error. `bucket` and `subscription` filter (a subscription filter leaves detections out). A comment line every api.activity_heartbeat_ms; a client that leaves more than api.activity_max_buffer_bytes unread is disconnected.',
    query: ActivityQuery,
    responses: { 200: { description: 'the stream, until the client disconnects', contentType: 'text/event-stream' }, 400: { description: 'bad input (the field is named)', schema: ErrorAnswer } },
    handler: async (request, reply) => {
      const filter = parseInput(ActivityQuery, request.query ?? {}, 'query')
      await hub.ready()
      reply.hijack()
      reply.raw.writeHead(200, SSE_HEADERS)
      reply.raw.write(': connected\n\n')
      hub.attach(reply.raw, filter)
    }
  }
}
