import type { Redis, RedisOptions } from 'ioredis'

/**
 * Options of a connection whose callers must get an answer in bounded time (the REST API):
 * no offline queue (while disconnected a command fails at once instead of waiting to be sent
 * on reconnect), no retry or re-send of commands in flight when a connection drops, and a
 * per-command timeout for a server that accepts and never answers.
 */
export function boundedRedisOptions (commandTimeoutMs: number): RedisOptions {
  return { enableOfflineQueue: false, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false, commandTimeout: commandTimeoutMs }
}

/** A write script refused to run because its deadline (in the Redis server's clock) had passed. */
export class WriteDeadlineError extends Error {
  readonly code = 'REDIS_WRITE_DEADLINE_PASSED'

  constructor () {
    super('Redis received the write after its deadline; nothing was changed')
    this.name = 'WriteDeadlineError'
  }
}

/** What a deadline-checking script returns when Redis TIME is past the deadline it was given. */
export const DEADLINE_PASSED = -3

/**
 * Deadlines for the writes of a bounded connection, in the Redis server's clock (ms).
 *
 * Why the deadline and not only `commandTimeout`: a command timeout rejects the caller's
 * promise, but the command's bytes may already sit in the server's socket buffer (a frozen
 * server), and the server runs it when it thaws, after the caller was told it failed. Every
 * write script therefore takes the instant its caller gives up and compares it with Redis TIME
 * before changing anything, so a write runs before the caller's timeout or never.
 *
 * The server's clock is measured (TIME) on every `ready`, so no clock sync between hosts is
 * assumed; half the measuring round trip is taken off the deadline as its uncertainty.
 */
export function createWriteDeadline (redis: Redis, commandTimeoutMs: number, now: () => number = Date.now): () => number {
  let offsetMs = 0
  let uncertaintyMs = 0
  const measure = async () => {
    const sent = now()
    const [seconds, micros] = await redis.time()
    const received = now()
    offsetMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - (sent + received) / 2
    uncertaintyMs = Math.ceil((received - sent) / 2) + 1
  }
  const onReady = () => { measure().catch(() => {}) } // not measured: the previous offset stays
  if (redis.status === 'ready') onReady()
  redis.on('ready', onReady)
  return () => Math.floor(now() + offsetMs + commandTimeoutMs - uncertaintyMs)
}

/** Throws WriteDeadlineError when a deadline-checking script answered DEADLINE_PASSED. */
export function checkDeadline<T> (result: T): T {
  if (result === DEADLINE_PASSED) throw new WriteDeadlineError()
  return result
}
