import { notFound, parseInput } from './errors.ts'
import {
  AddBucketBody, BucketAnswer, BucketListAnswer, BucketParams, BucketQuery, ErrorAnswer, ReplayAnswer, ReplayBody, ResyncBody, ResyncQuery,
  SuccessAnswer, UpdateBucketBody
} from './schemas.ts'
import { createReplay } from './bucket-replay.ts'
import { addBucket } from './bucket-add.ts'
import { updateBucket } from './bucket-update.ts'
import { deleteBucket } from './bucket-delete.ts'
import { readStatuses, statusDefaults } from './status.ts'
import type { BucketOpsContext, ScanControl } from './context.ts'
import type { RouteSpec } from './route-spec.ts'

const err = (description: string) => ({ description, schema: ErrorAnswer })

/** Add, update, delete, list, show and resync buckets. */
export function bucketRoutes (ctx: BucketOpsContext, scans: ScanControl): RouteSpec[] {
  const replay = createReplay(ctx)
  return [
    {
      method: 'POST',
      url: '/api/buckets/add',
      auth: true,
      operationId: 'addBucket',
      summary: 'Add a bucket (credentials checked with a one-key listing)',
      description: 'Stores the bucket\'s config in Redis and its keys and secrets in the secret store, after checking the keys with a one-key ListObjectsV2. Webhook, token and endpoint URLs must resolve outside private ranges unless webhook.allowed_networks lists them. Every replica picks the bucket up at once.',
      body: AddBucketBody,
      responses: { 201: { description: 'added', schema: SuccessAnswer }, 400: err('bad input'), 409: err('exists'), 422: err('S3 refused the credentials') },
      handler: async (request, reply) => reply.code(201).send(await addBucket(ctx, request.body))
    },
    {
      method: 'POST',
      url: '/api/buckets/update',
      auth: true,
      operationId: 'updateBucket',
      summary: 'Change any field of a bucket, credentials included',
      description: '`name` plus the fields to change. Both keys together rotate the credentials (checked against S3 first); `webhook_auth` without `token_url` keeps the stored one; `null` removes `webhook_auth` or `signing_secret`.',
      body: UpdateBucketBody,
      responses: { 200: { description: 'updated', schema: SuccessAnswer }, 400: err('bad input'), 404: err('unknown bucket'), 422: err('S3 refused the credentials') },
      handler: async request => await updateBucket(ctx, request.body)
    },
    {
      method: 'POST',
      url: '/api/buckets/delete',
      auth: true,
      operationId: 'deleteBucket',
      summary: 'Delete a bucket: config, schedule, state and credentials',
      description: 'Removes the bucket\'s config, notification switch, schedule, object state, status and every secret it has in the secret store.',
      query: BucketQuery,
      responses: { 200: { description: 'deleted', schema: SuccessAnswer }, 400: err('missing parameter'), 404: err('unknown bucket') },
      handler: async request => await deleteBucket(ctx, request.query)
    },
    {
      method: 'GET',
      url: '/api/buckets',
      auth: true,
      operationId: 'listBuckets',
      summary: 'Every bucket (never a secret)',
      description: 'The stored config of every bucket; keys and secrets are never part of an answer (`has_signing_secret` says whether one is set).',
      responses: { 200: { description: 'buckets', schema: BucketListAnswer } },
      handler: async () => ({ buckets: await ctx.store.list() })
    },
    {
      method: 'GET',
      url: '/api/buckets/:name',
      auth: true,
      operationId: 'getBucket',
      summary: 'One bucket and its scan status (never a secret)',
      description: 'The bucket\'s stored config and its scan status: last scan, outcome, objects tracked and listed, events by type, last error, next scan due.',
      params: BucketParams,
      responses: { 200: { description: 'bucket', schema: BucketAnswer }, 400: err('bad name'), 404: err('unknown bucket') },
      handler: async request => await showBucket(ctx, request.params)
    },
    {
      method: 'POST',
      url: '/api/buckets/:name/resync',
      auth: true,
      operationId: 'resyncBucket',
      summary: 'Scan now; with forget=true, re-announce every object',
      description: 'Schedules a scan of the bucket at once. With `forget` (in the query or the optional JSON body) its object state is dropped first, so every object is announced again as created.',
      params: BucketParams,
      query: ResyncQuery,
      body: ResyncBody,
      bodyRequired: false,
      responses: { 202: { description: 'scan requested', schema: SuccessAnswer }, 400: err('bad input'), 404: err('unknown bucket') },
      handler: async (request, reply) => reply.code(202).send(await resync(ctx, scans, request.params, request.query, request.body))
    },
    {
      method: 'POST',
      url: '/api/buckets/:name/replay',
      auth: true,
      operationId: 'replayBucket',
      summary: 'Re-announce recorded objects as new messages',
      description: 'Re-announces the objects of the bucket\'s recorded state whose last_modified is within `since`..`until` (ISO 8601 or epoch seconds, both inclusive) and whose key starts with `prefix`, without touching the state: new event ids, `"replay": true` in the body, event_type `created` (last_modified within a day) or `detected`, content_type and metadata the defaults. With `subscription` only that subscription gets them (the ones its filters select), else every subscription by its filters. Answers once every event is queued.',
      params: BucketParams,
      body: ReplayBody,
      bodyRequired: false,
      responses: { 202: { description: 'queued', schema: ReplayAnswer }, 400: err('bad input'), 404: err('unknown bucket or subscription'), 409: err('state of an earlier version not yet moved by a scan') },
      handler: async (request, reply) => reply.code(202).send(await replay(request.params, request.body))
    }
  ]
}

async function showBucket (ctx: BucketOpsContext, params: unknown) {
  const { name } = parseInput(BucketParams, params, 'params')
  const bucket = await ctx.store.get(name)
  if (!bucket) throw notFound(`Bucket ${name} not found`)
  const [status] = await readStatuses(ctx.redis, ctx.keys, [bucket], statusDefaults(ctx.config))
  return { bucket, status }
}

async function resync (ctx: BucketOpsContext, scans: ScanControl, params: unknown, query: unknown, body: unknown) {
  const { name } = parseInput(BucketParams, params, 'params')
  const q = parseInput(ResyncQuery, query ?? {}, 'query')
  const b = body === undefined || body === null ? {} : parseInput(ResyncBody, body)
  const forget = b.forget ?? q.forget ?? false
  if (!await ctx.store.get(name)) throw notFound(`Bucket ${name} not found`)
  await scans.resync(name, { forget })
  ctx.log.info({ bucket: name, forget }, 'resync requested')
  return { status: 'success', message: `Scan of bucket ${name} requested`, bucket: name, forget }
}
