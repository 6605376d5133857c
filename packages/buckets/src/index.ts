export {
  BucketName, Endpoint, HttpUrl, Pattern, StoredBucket, StoredWebhookAuth, SECRET_KINDS,
  endpointUrl, endpointHost, type Bucket, type SecretKind
} from './schema.ts'
export { secretName, legacySecretName, withLegacySecretNames, migrateLegacySecretNames, type SecretMigration } from './secret-names.ts'
export { createBucketStore, type BucketStore, type SaveMode, type SaveResult, type BucketStoreOptions } from './bucket-store.ts'
export { BucketRegistry, DEFAULT_CONFIG_CHECK_INTERVAL_MS, type BucketChange, type BucketRegistryOptions } from './registry.ts'
export {
  createMemorySecretStore, createCachedSecretStore, writeThrough,
  type SecretStore, type CachedSecretStore, type SecretStoreHealth, type CachedSecretStoreOptions
} from './secret-store.ts'
export { createEmbeddedSecretStore, parseSecretsKey, encryptSecret, decryptSecret } from './embedded-store.ts'
export { BucketInputFields, WebhookAuthInput, normalizeBucketInput, bucketSecretNames, type BucketInput, type NormalizedBucket } from './input.ts'
export { createNetworkPolicy, type NetworkPolicy } from './network-policy.ts'
export {
  AddressRefusedError, bareHost, checkUrl, firstRefused, guardedAgents, guardedLookup, refusedLiteral, systemResolve,
  type GuardOptions, type Refuse, type Resolve
} from './network-guard.ts'
export { createSecretStore, createSecretWriter, infisicalOptions, DEFAULT_INFISICAL_URL, DEFAULT_INFISICAL_ENV, type SecretStoreEnv } from './secret-store-factory.ts'
export { createInfisicalSecretStore, infisicalStatus, type InfisicalStoreOptions } from './infisical-store.ts'
export { invalidateSecretsOnChange } from './secret-rotation.ts'
export { SecretStoreEnvFields, hasSecretStore, NO_SECRET_STORE } from './secret-store-env.ts'
