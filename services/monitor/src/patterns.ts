// The key filter is shared with the consumer (subscriptions filter on it too).
export { createKeyFilter, patternProblem, type KeyFilter } from '@internal/buckets'
