import { readFileSync } from 'node:fs'
import type { Redis } from 'ioredis'

/**
 * Registers a Lua file as a command on the connection (EVALSHA with a fallback to EVAL,
 * which ioredis handles) and returns a typed caller.
 */
export function defineScript<Args extends Array<string | number | Buffer>, Result> (
  redis: Redis, name: string, file: URL, numberOfKeys: number
): (keys: string[], ...args: Args) => Promise<Result> {
  if (typeof (redis as any)[name] !== 'function') {
    redis.defineCommand(name, { numberOfKeys, lua: readFileSync(file, 'utf8') })
  }
  return (keys, ...args) => {
    if (keys.length !== numberOfKeys) throw new Error(`${name} takes ${numberOfKeys} keys, got ${keys.length}`)
    return (redis as any)[name](...keys, ...args) as Promise<Result>
  }
}
