import { parseInput } from './errors.ts'
import { ErrorAnswer, SuccessAnswer } from './schemas.ts'
import {
  CreateSubscriptionBody, PatchSubscriptionBody, SubscriptionAnswer, SubscriptionListAnswer, SubscriptionListParams, SubscriptionParams, TestAnswer
} from './subscription-schemas.ts'
import { createSubscription, deleteSubscription, listSubscriptions, loadBucket, patchSubscription, subscriptionOr404 } from './subscription-ops.ts'
import type { SubscriptionTester } from './subscription-test.ts'
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
      summary: 'Add a subscription (201; 409 for an id in use)',
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
      summary: "The bucket's subscriptions, `default` first (never a secret)",
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
      summary: 'One subscription (never a secret)',
      params: SubscriptionParams,
      responses: { 200: { description: 'subscription', schema: SubscriptionAnswer }, 404: err('unknown bucket or id') },
      handler: async request => {
        const { name, id } = one(request.params)
        return subscriptionOr404(ctx, await loadBucket(ctx, name), id)
      }
    },
    {
      method: 'PATCH',
      url: ONE,
      auth: true,
      summary: 'Change fields of a subscription; null removes an optional one',
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
      summary: 'Delete a subscription, its secrets and its pending retries and dead letters',
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
      summary: 'Deliver to this subscription again',
      params: SubscriptionParams,
      responses: { 200: { description: 'enabled', schema: SubscriptionAnswer }, 404: err('unknown bucket or id') },
      handler: toggle(true)
    },
    {
      method: 'POST',
      url: `${ONE}/disable`,
      auth: true,
      summary: 'Stop delivering to this subscription (changes meanwhile are not sent later)',
      params: SubscriptionParams,
      responses: { 200: { description: 'disabled', schema: SubscriptionAnswer }, 404: err('unknown bucket or id') },
      handler: toggle(false)
    },
    {
      method: 'POST',
      url: `${ONE}/test`,
      auth: true,
      summary: 'Send a test event to this receiver now; answers with its status',
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
