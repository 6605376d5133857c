export {
  BucketName, Endpoint, HttpUrl, Pattern, UsablePattern, StoredBucket, StoredWebhookAuth, SECRET_KINDS,
  endpointUrl, endpointHost, type Bucket, type SecretKind
} from './schema.ts'
export { secretName, subscriptionSecretName, SUBSCRIPTION_SECRET_KINDS, type SubscriptionSecretKind, legacySecretName, withLegacySecretNames, migrateLegacySecretNames, type SecretMigration } from './secret-names.ts'
export { createBucketStore, type BucketStore, type SaveMode, type SaveResult, type BucketStoreOptions } from './bucket-store.ts'
export { BucketRegistry, DEFAULT_CONFIG_CHECK_INTERVAL_MS, type BucketChange, type BucketRegistryOptions } from './registry.ts'
// Secret storage is its own package; re-exported here for the services that reach it through the bucket registry.
export {
  createMemorySecretStore, createCachedSecretStore, writeThrough, createEmbeddedSecretStore, parseSecretsKey, encryptSecret, decryptSecret,
  createInfisicalSecretStore, infisicalStatus, SecretStoreEnvFields, hasSecretStore, NO_SECRET_STORE, infisicalOptions,
  DEFAULT_INFISICAL_URL, DEFAULT_INFISICAL_ENV,
  type SecretStore, type CachedSecretStore, type SecretStoreHealth, type CachedSecretStoreOptions, type InfisicalStoreOptions, type SecretStoreEnv
} from '@internal/secrets'
export { BucketInputFields, TUNING_FIELDS, WebhookAuthInput, normalizeBucketInput, bucketSecretNames, type BucketInput, type NormalizedBucket } from './input.ts'
export { createNetworkPolicy, type NetworkPolicy } from './network-policy.ts'
export {
  AddressRefusedError, bareHost, checkUrl, firstRefused, guardedAgents, guardedLookup, refusedLiteral, systemResolve,
  type GuardOptions, type Refuse, type Resolve
} from './network-guard.ts'
export { createSecretStore, createSecretWriter } from './secret-store-factory.ts'
export { invalidateSecretsOnChange } from './secret-rotation.ts'
export { createKeyFilter, patternProblem, MAX_STARS_PER_SEGMENT, type KeyFilter } from './patterns.ts'
export {
  SubscriptionId, DEFAULT_SUBSCRIPTION, SUBSCRIPTION_FORMATS, SubscriptionFormat, ALL_EVENTS, MAX_SUBSCRIPTIONS, Affix, SubscriptionRules,
  StoredSubscription, DefaultSubscriptionRules, RetrySchedule
} from './schema.ts'
export { subscriptionsOf, findSubscription, matchesSubscription, selectsChange, encodeSigningSecrets, decodeSigningSecrets, type Subscription } from './subscriptions.ts'
