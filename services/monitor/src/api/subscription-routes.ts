import { parseInput } from './errors.ts'
import { ErrorAnswer, SuccessAnswer } from './schemas.ts'
import {
  CreateSubscriptionBody, PatchSubscriptionBody, SubscriptionAnswer, SubscriptionListAnswer, SubscriptionListParams, SubscriptionParams, TestAnswer
} from './subscription-schemas.ts'
import { createSubscription, deleteSubscription, listSubscriptions, loadBucket, patchSubscription, subscriptionOr404 } from './subscription-ops.ts'
import type { SubscriptionTester } from './subscription-test.ts'
import { withState } from './subscription-lifecycle.ts'
import type { BucketOpsContext } from './context.ts'
import type { RouteSpec } from './route-spec.ts'

const err = (description: string) => ({ description, schema: ErrorAnswer })
const BASE = '/api/buckets/:name/subscriptions'
const ONE = `${BASE}/:id`

/** Several receivers per bucket, each with its own events, key filters, format and credentials. */
export function subscriptionRoutes (ctx: BucketOpsContext, tester: SubscriptionTester): RouteSpec[] {
  const one = (params: unknown) => parseInput(SubscriptionParams, params, 'params')
  const toggle = (enabled: boolean) => async (request: { params: unknown }) => {
    const { name, id } = one(request.params)
    return await patchSubscription(ctx, name, id, { enabled })
  }
  return [
    {
      method: 'POST',
      url: BASE,
      auth: true,
      operationId: 'createSubscription',
      summary: 'Add a subscription (201; 409 for an id in use)',
      description: 'A new receiver of the bucket\'s events with its own event types, prefix/suffix and glob filters, body format (original, s3, cloudevents), OAuth2 client and signing secrets. Secrets go to the secret store, never into an answer.',
      params: SubscriptionListParams,
      body: CreateSubscriptionBody,
      responses: { 201: { description: 'created', schema: SubscriptionAnswer }, 400: err('bad input'), 404: err('unknown bucket'), 409: err('id in use') },
      handler: async (request, reply) => {
        const { name } = parseInput(SubscriptionListParams, request.params, 'params')
        return reply.code(201).send(await createSubscription(ctx, name, request.body))
      }
    },
    {
      method: 'GET',
      url: BASE,
      auth: true,
      operationId: 'listSubscriptions',
      summary: "The bucket's subscriptions, `default` first (never a secret)",
      description: 'Every subscription of the bucket; the bucket\'s own webhook_url and webhook_auth are its `default` subscription.',
      params: SubscriptionListParams,
      responses: { 200: { description: 'subscriptions', schema: SubscriptionListAnswer }, 404: err('unknown bucket') },
      handler: async request => {
        const { name } = parseInput(SubscriptionListParams, request.params, 'params')
        return { subscriptions: listSubscriptions(ctx, await loadBucket(ctx, name)) }
      }
    },
    {
      method: 'GET',
      url: ONE,
      auth: true,
      operationId: 'getSubscription',
      summary: 'One subscription (never a secret)',
      description: 'One subscription\'s filters, format, retry schedule and delivery state: `state` (active or disabled), `disabled_reason` (gone: its receiver answered 410; failing: no success for webhook.disable_after; operator: disabled through the API or its config) and `parked` (events kept while disabled).',
      params: SubscriptionParams,
      responses: { 200: { description: 'subscription', schema: SubscriptionAnswer }, 404: err('unknown bucket or id') },
      handler: async request => {
        const { name, id } = one(request.params)
        return await withState(ctx, name, subscriptionOr404(ctx, await loadBucket(ctx, name), id))
      }
    },
    {
      method: 'PATCH',
      url: ONE,
      auth: true,
      operationId: 'updateSubscription',
      summary: 'Change fields of a subscription; null removes an optional one',
      description: 'Changes only the fields given; `null` removes an optional one.',
      params: SubscriptionParams,
      body: PatchSubscriptionBody,
      responses: { 200: { description: 'updated', schema: SubscriptionAnswer }, 400: err('bad input'), 404: err('unknown bucket or id') },
      handler: async request => {
        const { name, id } = one(request.params)
        return await patchSubscription(ctx, name, id, request.body)
      }
    },
    {
      method: 'DELETE',
      url: ONE,
      auth: true,
      operationId: 'deleteSubscription',
      summary: 'Delete a subscription, its secrets and its pending retries and dead letters',
      description: 'Removes the subscription, its secrets, its pending retries and its dead letters; nothing of it stays in Redis or the secret store.',
      params: SubscriptionParams,
      responses: { 200: { description: 'deleted', schema: SuccessAnswer }, 404: err('unknown bucket or id') },
      handler: async request => {
        const { name, id } = one(request.params)
        return await deleteSubscription(ctx, name, id)
      }
    },
    {
      method: 'POST',
      url: `${ONE}/enable`,
      auth: true,
      operationId: 'enableSubscription',
      summary: 'Deliver to this subscription again, its parked events first',
      description: 'Turns deliveries to this receiver back on, whatever disabled it (gone, failing, operator): its parked events are delivered first, oldest first, then new ones.',
      params: SubscriptionParams,
      responses: { 200: { description: 'enabled', schema: SubscriptionAnswer }, 404: err('unknown bucket or id') },
      handler: toggle(true)
    },
    {
      method: 'POST',
      url: `${ONE}/disable`,
      auth: true,
      operationId: 'disableSubscription',
      summary: 'Stop delivering to this subscription; its events are parked until enable',
      description: 'Stops deliveries to this receiver (disabled_reason operator); its events are parked meanwhile (at most webhook.max_parked, beyond it the oldest are dead-lettered) and delivered by enable.',
      params: SubscriptionParams,
      responses: { 200: { description: 'disabled', schema: SubscriptionAnswer }, 404: err('unknown bucket or id') },
      handler: toggle(false)
    },
    {
      method: 'POST',
      url: `${ONE}/test`,
      auth: true,
      operationId: 'testSubscription',
      summary: 'Send a test event to this receiver now; answers with its status',
      description: 'Sends an event of type `test` in the subscription\'s format to its receiver now (never dead-lettered) and answers whether it was delivered, the receiver\'s status and the time it took.',
      params: SubscriptionParams,
      responses: { 200: { description: 'sent (or not: see delivered and error)', schema: TestAnswer }, 404: err('unknown bucket or id') },
      handler: async request => {
        const { name, id } = one(request.params)
        const bucket = await loadBucket(ctx, name)
        return await tester.send(bucket, subscriptionOr404(ctx, bucket, id))
      }
    }
  ]
}
