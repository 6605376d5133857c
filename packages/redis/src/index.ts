export { createKeys, type Keys, type KeyOptions } from './keys.ts'
export { createRedis, checkRedis, sentinelAddresses, type RedisConnectionConfig, type RedisHealth } from './client.ts'
export { defineScript } from './scripts.ts'
export type { Redis } from 'ioredis'
