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
      summary: 'Dead-lettered events, newest first',
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
      summary: 'Put one dead-lettered event back on the queue',
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
      summary: 'Replay some ({"ids": [...]}) or all ({"all": true})',
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
      summary: 'Delete some ({"ids": [...]}) or all ({"all": true})',
      body: DeadLetterSelection,
      responses: { 200: { description: 'purged', schema: CountAnswer }, 400: bad },
      handler: async request => {
        const selection = parseInput(DeadLetterSelection, request.body)
        return { status: 'success', count: await dead.purge(selection.all ? undefined : selection.ids) }
      }
    }
  ]
}
