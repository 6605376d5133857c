import { existsSync, readFileSync } from 'node:fs'
import type { Redis } from 'ioredis'

/** Includes every workspace's scripts share (the Redis clock and write deadlines). */
const SHARED_INCLUDES = new URL('../lua/includes/', import.meta.url)

/**
 * The script's text, each `--- @include "name"` line replaced by `includes/name.lua` beside
 * it, or else by the shared one of that name.
 */
function scriptText (file: URL): string {
  return readFileSync(file, 'utf8').replace(/^--- @include "([\w-]+)"$/gm, (_line, name: string) => {
    const beside = new URL(`includes/${name}.lua`, file)
    return readFileSync(existsSync(beside) ? beside : new URL(`${name}.lua`, SHARED_INCLUDES), 'utf8').trimEnd()
  })
}

/**
 * Registers a Lua file as a command on the connection (EVALSHA with a fallback to EVAL,
 * which ioredis handles) and returns a typed caller. A line `--- @include "name"` puts in the
 * shared code of `includes/name.lua`, so helpers are written once. `numberOfKeys` is the
 * script's key count, or 'variadic' for a script that takes any number (one per bucket, say).
 */
export function defineScript<Args extends Array<string | number | Buffer>, Result> (
  redis: Redis, name: string, file: URL, numberOfKeys: number | 'variadic'
): (keys: string[], ...args: Args) => Promise<Result> {
  if (typeof (redis as any)[name] !== 'function') {
    redis.defineCommand(name, { lua: scriptText(file), ...(numberOfKeys !== 'variadic' && { numberOfKeys }) })
  }
  if (numberOfKeys === 'variadic') return (keys, ...args) => (redis as any)[name](keys.length, ...keys, ...args) as Promise<Result>
  return (keys, ...args) => {
    if (keys.length !== numberOfKeys) throw new Error(`${name} takes ${numberOfKeys} keys, got ${keys.length}`)
    return (redis as any)[name](...keys, ...args) as Promise<Result>
  }
}
