// The README stays true to the code: every config key, env var, metric, delivery error code
// and API route the code defines is documented there.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigFile } from '@internal/config'
import { ROOT, envNamesReadByServices, sourceFiles } from './k8s-support.ts'

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
const source = sourceFiles().map(f => ({ file: f, text: readFileSync(f, 'utf8') }))

/** The object schema inside zod wrappers (default, prefault, optional, pipe). */
function objectShape (schema: any): Record<string, unknown> | undefined {
  for (let s = schema, depth = 0; s && depth < 10; depth++) {
    if (s.shape) return s.shape
    s = s._zod?.def?.innerType ?? s._zod?.def?.in
  }
  return undefined
}

test('every config.yaml key is in the configuration reference', () => {
  for (const [section, schema] of Object.entries(ConfigFile.shape)) {
    const shape = objectShape(schema)
    if (!shape) {
      assert.ok(readme.includes(`\`${section}\``), section)
      continue
    }
    for (const key of Object.keys(shape)) assert.ok(readme.includes(`${section}.${key}`), `README lacks ${section}.${key}`)
  }
})

test('every env var the services read is in the configuration reference', async () => {
  for (const name of await envNamesReadByServices()) assert.ok(readme.includes(`\`${name}\``), `README lacks ${name}`)
})

test('every metric the services export is in the metrics table', () => {
  const metrics = source.flatMap(({ text }) => [...text.matchAll(/\bname: '([a-z][a-z0-9_]+)'/g)].map(m => m[1]!))
  assert.ok(metrics.length >= 15)
  for (const name of metrics) assert.match(name, /^watch_folder_/, 'one namespace for every metric')
  for (const name of metrics) assert.ok(readme.includes(`\`${name}\``), `README lacks metric ${name}`)
})

test('every delivery error code and API route is documented', () => {
  const errors = source.find(s => s.file.endsWith(join('consumer', 'src', 'errors.ts')))!.text
  for (const [, code] of errors.matchAll(/^\s+([A-Z_]+): '\1'/gm)) assert.ok(readme.includes(`\`${code}\``), `README lacks ${code}`)
  const routes = source.filter(s => s.file.includes(join('monitor', 'src', 'api')))
    .flatMap(({ text }) => [...text.matchAll(/url: '(\/api\/[^']+)'/g)].map(m => m[1]!))
  assert.ok(routes.length >= 10)
  for (const url of routes) assert.ok(readme.includes(url.replace(/\?.*/, '')), `README lacks ${url}`)
})
