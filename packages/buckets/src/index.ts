export {
  BucketName, Endpoint, HttpUrl, Pattern, StoredBucket, StoredWebhookAuth, SECRET_KINDS,
  endpointUrl, endpointHost, secretName, type Bucket, type SecretKind
} from './schema.ts'
export { createBucketStore, type BucketStore, type SaveMode, type SaveResult } from './bucket-store.ts'
export { BucketRegistry, type BucketChange, type BucketRegistryOptions } from './registry.ts'
export {
  createMemorySecretStore, createCachedSecretStore,
  type SecretStore, type CachedSecretStore, type SecretStoreHealth
} from './secret-store.ts'
export { createEmbeddedSecretStore, parseSecretsKey, encryptSecret, decryptSecret } from './embedded-store.ts'
export { BucketInputFields, WebhookAuthInput, normalizeBucketInput, bucketSecretNames, type BucketInput, type NormalizedBucket } from './input.ts'
export { createNetworkPolicy, type NetworkPolicy } from './network-policy.ts'
export { createSecretStore, type SecretStoreEnv } from './secret-store-factory.ts'
export { invalidateSecretsOnChange } from './secret-rotation.ts'
