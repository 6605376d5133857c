import { Option, type Command } from 'commander'
import { CliError, EXIT } from './errors.ts'

/**
 * An API field as a command-line flag: spelled as the field with dashes
 * (`webhook_url` → `--webhook-url`), `webhook_auth.client_id` → `--webhook-auth-client-id`.
 */
export interface Field {
  /** The API field, dotted for a nested one. */
  api: string
  kind: 'string' | 'number' | 'numbers' | 'list' | 'boolean' | 'secret' | 'secrets'
  help: string
  choices?: string[]
}

export const flagOf = (field: Field) => field.api.replaceAll('.', '_').replaceAll('_', '-')
const keyOf = (field: Field) => flagOf(field).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())
/** The environment variable a secret may come from: WATCH_FOLDER_ plus the field in capitals. */
export const envOf = (field: Field) => `WATCH_FOLDER_${field.api.replaceAll('.', '_').toUpperCase()}`

/** Adds one option per field to `cmd`. */
export function addFieldOptions (cmd: Command, fields: Field[], opts: { secretsFromEnv: boolean }): Command {
  for (const f of fields) {
    const arg = f.kind === 'list' || f.kind === 'numbers' || f.kind === 'secrets' ? '<values...>' : f.kind === 'boolean' ? '<true|false>' : '<value>'
    let help = f.help
    if (f.kind === 'secret' || f.kind === 'secrets') help += `; "-" reads it from stdin${opts.secretsFromEnv ? `; default $${envOf(f)}` : ''}`
    const option = new Option(`--${flagOf(f)} ${arg}`, help)
    if (f.choices) option.choices(f.choices)
    if (f.kind === 'list' || f.kind === 'numbers' || f.kind === 'secrets') option.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), ...v.split(',').filter(Boolean)])
    cmd.addOption(option)
  }
  return cmd
}

/**
 * The request body from the parsed options: each given field under its API name (nested for
 * dotted names). A secret given as "-" is read from stdin (one line each, in flag order); with
 * `secretsFromEnv`, a secret not given comes from its environment variable.
 */
export async function bodyOf (options: Record<string, unknown>, fields: Field[], io: { env: Record<string, string | undefined>, readStdin: () => Promise<string[]>, secretsFromEnv: boolean }): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = {}
  let stdin: string[] | undefined
  const nextLine = async (f: Field) => {
    stdin ??= await io.readStdin()
    const line = stdin.shift()
    if (line === undefined || line === '') throw new CliError(`--${flagOf(f)} -: no line left on stdin for it`, EXIT.usage)
    return line
  }
  for (const f of fields) {
    let value = options[keyOf(f)]
    if (value === undefined && io.secretsFromEnv && (f.kind === 'secret' || f.kind === 'secrets')) value = io.env[envOf(f)]
    if (value === undefined) continue
    if (value === '-' || (Array.isArray(value) && value.length === 1 && value[0] === '-')) value = await nextLine(f)
    setAt(body, f.api, convert(f, value))
  }
  return body
}

function convert (f: Field, value: unknown): unknown {
  if (f.kind === 'number') return numberOf(f, value)
  if (f.kind === 'numbers') return (Array.isArray(value) ? value : String(value).split(',')).map(v => numberOf(f, v))
  if (f.kind === 'boolean') {
    if (value === 'true' || value === 'false') return value === 'true'
    throw new CliError(`--${flagOf(f)}: give true or false`, EXIT.usage)
  }
  if (f.kind === 'secrets' && typeof value === 'string') return value.split(',').filter(Boolean)
  return value
}

function numberOf (f: Field, value: unknown): number {
  const n = Number(value)
  if (!Number.isFinite(n) || String(value).trim() === '') throw new CliError(`--${flagOf(f)}: "${String(value)}" is not a number`, EXIT.usage)
  return n
}

function setAt (target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.')
  let node = target
  for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>
  node[parts.at(-1)!] = value
}
