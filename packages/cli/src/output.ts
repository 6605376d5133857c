/** Where a command writes: stdout for results, stderr for progress and errors. */
export interface Streams {
  stdout: { write (s: string): unknown, isTTY?: boolean }
  stderr: { write (s: string): unknown, isTTY?: boolean }
}

export type Format = 'json' | 'table'

/** A result in the chosen format: JSON as the API answered it, or a table of the given columns. */
export function print (streams: Streams, format: Format, value: unknown, columns?: string[]): void {
  if (format === 'json') {
    streams.stdout.write(JSON.stringify(value, null, 2) + '\n')
    return
  }
  if (Array.isArray(value)) {
    streams.stdout.write(table(value as Array<Record<string, unknown>>, columns) + '\n')
    return
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
    const width = Math.max(0, ...entries.map(([k]) => k.length))
    streams.stdout.write(entries.map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`).join('\n') + '\n')
    return
  }
  streams.stdout.write(`${cell(value)}\n`)
}

/** Rows as aligned columns; `columns` picks and orders them (default: every key of the first row). */
export function table (rows: Array<Record<string, unknown>>, columns?: string[]): string {
  if (rows.length === 0) return '(none)'
  const cols = columns ?? Object.keys(rows[0]!)
  const cells = rows.map(r => cols.map(c => cell(valueAt(r, c))))
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map(row => row[i]!.length)))
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(cols.map(c => c.toUpperCase())), ...cells.map(line)].join('\n')
}

function valueAt (row: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), row)
}

function cell (v: unknown): string {
  if (v === undefined || v === null) return '-'
  if (Array.isArray(v)) return v.map(cell).join(',')
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}
