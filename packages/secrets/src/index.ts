// Where secrets live (Infisical, or AES-256-GCM blobs in Redis), apart from what they belong to.
export {
  createMemorySecretStore, createCachedSecretStore, writeThrough,
  type SecretStore, type CachedSecretStore, type SecretStoreHealth, type CachedSecretStoreOptions
} from './secret-store.ts'
export { createEmbeddedSecretStore, parseSecretsKey, encryptSecret, decryptSecret } from './embedded-store.ts'
export { createInfisicalSecretStore, infisicalStatus, type InfisicalStoreOptions } from './infisical-store.ts'
export { SecretStoreEnvFields, hasSecretStore, NO_SECRET_STORE } from './secret-store-env.ts'
export {
  createSecretStoreFromEnv, infisicalOptions, DEFAULT_INFISICAL_URL, DEFAULT_INFISICAL_ENV, type SecretStoreEnv, type StoreFromEnvOptions
} from './store-from-env.ts'
