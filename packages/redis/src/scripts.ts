import { readFileSync } from 'node:fs'
import type { Redis } from 'ioredis'

/** The script's text, each `--- @include "name"` line replaced by `includes/name.lua` beside it. */
function scriptText (file: URL): string {
  return readFileSync(file, 'utf8').replace(/^--- @include "([\w-]+)"$/gm, (_line, name: string) =>
    readFileSync(new URL(`includes/${name}.lua`, file), 'utf8').trimEnd())
}

/** `numberOfKeys` of a script that takes as many keys as the caller gives (a batch). */
export const ANY_KEYS = -1

/**
 * Registers a Lua file as a command on the connection (EVALSHA with a fallback to EVAL,
 * which ioredis handles) and returns a typed caller. A line `--- @include "name"` puts in the
 * shared code of `includes/name.lua`, so helpers are written once.
 */
export function defineScript<Args extends Array<string | number | Buffer>, Result> (
  redis: Redis, name: string, file: URL, numberOfKeys: number
): (keys: string[], ...args: Args) => Promise<Result> {
  const variable = numberOfKeys === ANY_KEYS
  if (typeof (redis as any)[name] !== 'function') {
    redis.defineCommand(name, { ...(!variable && { numberOfKeys }), lua: scriptText(file) })
  }
  return (keys, ...args) => {
    if (variable) return (redis as any)[name](keys.length, ...keys, ...args) as Promise<Result>
    if (keys.length !== numberOfKeys) throw new Error(`${name} takes ${numberOfKeys} keys, got ${keys.length}`)
    return (redis as any)[name](...keys, ...args) as Promise<Result>
  }
}
