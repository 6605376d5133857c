import type { DeadLetters } from '@internal/redis'
import { notFound, parseInput } from './errors.ts'
import { CountAnswer, DeadLetterIdParams, DeadLetterListAnswer, DeadLetterQuery, DeadLetterSelection, ErrorAnswer } from './schemas.ts'
import type { RouteSpec } from './route-spec.ts'

const bad = { description: 'bad input', schema: ErrorAnswer }

/** Events the consumer gave up on: list with paging, replay one, some or all, purge. */
export function deadLetterRoutes (dead: DeadLetters): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/api/dead-letters',
      auth: true,
      operationId: 'listDeadLetters',
      summary: 'Dead-lettered events, newest first',
      description: 'A page of the events the consumer gave up on, each with its reason, attempts, last HTTP status and an excerpt of the last answer.',
      query: DeadLetterQuery,
      responses: { 200: { description: 'a page', schema: DeadLetterListAnswer }, 400: bad },
      handler: async request => {
        const { offset, limit } = parseInput(DeadLetterQuery, request.query ?? {}, 'query')
        const page = await dead.list(offset, limit)
        return { total: page.total, offset, limit, items: page.items }
      }
    },
    {
      method: 'POST',
      url: '/api/dead-letters/:id/replay',
      auth: true,
      operationId: 'replayDeadLetter',
      summary: 'Put one dead-lettered event back on the queue',
      description: 'Moves the event back onto the delivery queue with its attempts reset; it keeps its event id.',
      params: DeadLetterIdParams,
      responses: { 200: { description: 'replayed', schema: CountAnswer }, 404: { description: 'unknown id', schema: ErrorAnswer } },
      handler: async request => {
        const { id } = parseInput(DeadLetterIdParams, request.params, 'params')
        const count = await dead.replay([id])
        if (count === 0) throw notFound(`Dead letter ${id} not found`)
        return { status: 'success', count }
      }
    },
    {
      method: 'POST',
      url: '/api/dead-letters/replay',
      auth: true,
      operationId: 'replayDeadLetters',
      summary: 'Replay some ({"ids": [...]}) or all ({"all": true})',
      description: 'Moves the named dead letters, or all of them, back onto the delivery queue; answers how many were moved.',
      body: DeadLetterSelection,
      responses: { 200: { description: 'replayed', schema: CountAnswer }, 400: bad },
      handler: async request => {
        const selection = parseInput(DeadLetterSelection, request.body)
        const count = selection.all ? await dead.replayAll() : await dead.replay(selection.ids ?? [])
        return { status: 'success', count }
      }
    },
    {
      method: 'POST',
      url: '/api/dead-letters/purge',
      auth: true,
      operationId: 'purgeDeadLetters',
      summary: 'Delete some ({"ids": [...]}) or all ({"all": true})',
      description: 'Deletes the named dead letters, or all of them, for good; answers how many were deleted.',
      body: DeadLetterSelection,
      responses: { 200: { description: 'purged', schema: CountAnswer }, 400: bad },
      handler: async request => {
        const selection = parseInput(DeadLetterSelection, request.body)
        return { status: 'success', count: await dead.purge(selection.all ? undefined : selection.ids) }
      }
    }
  ]
}
