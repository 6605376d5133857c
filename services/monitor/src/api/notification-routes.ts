import { notFound, parseInput } from './errors.ts'
import { BucketQuery, ErrorAnswer, NotificationAnswer, StatusAnswer } from './schemas.ts'
import { readStatuses, statusDefaults } from './status.ts'
import type { BucketOpsContext } from './context.ts'
import type { RouteSpec } from './route-spec.ts'

/** The notification routes the Python monitor had: status of every bucket, enable, disable. */
export function notificationRoutes (ctx: BucketOpsContext): RouteSpec[] {
  const toggle = (enabled: boolean): RouteSpec => ({
    method: 'POST',
    url: `/api/bucket-notifications/${enabled ? 'enable' : 'disable'}`,
    auth: true,
    operationId: enabled ? 'enableNotifications' : 'disableNotifications',
    summary: `${enabled ? 'Enable' : 'Disable'} a bucket's notifications (scanning and state go on)`,
    description: enabled
      ? 'Turns the bucket\'s webhooks back on. Changes made while they were off are not replayed: the state was tracked meanwhile.'
      : 'Stops the bucket\'s webhooks; its scans go on and keep its state, so enabling later does not replay what happened meanwhile.',
    query: BucketQuery,
    responses: { 200: { description: 'done', schema: NotificationAnswer }, 400: { description: 'missing parameter', schema: ErrorAnswer }, 404: { description: 'unknown bucket', schema: ErrorAnswer } },
    handler: async request => {
      const { bucket } = parseInput(BucketQuery, request.query, 'query')
      if (!await ctx.store.setNotifications(bucket, enabled)) throw notFound('Bucket not found')
      ctx.log.info({ bucket, enabled }, 'notifications switched')
      return { status: 'success', bucket, notifications: enabled ? 'enabled' : 'disabled' }
    }
  })
  return [
    {
      method: 'GET',
      url: '/api/bucket-notifications/status',
      auth: true,
      operationId: 'getNotificationStatus',
      description: 'The scan and notification status of every bucket, as one list.',
      summary: 'Every bucket: notifications on/off, webhook, last scan, objects tracked, events by type, last error, next scan',
      responses: { 200: { description: 'status', schema: StatusAnswer } },
      handler: async () => {
        return { buckets: await readStatuses(ctx.redis, ctx.keys, await ctx.store.list(), statusDefaults(ctx.config)) }
      }
    },
    toggle(true),
    toggle(false)
  ]
}
