import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

// STYLE.md 2.2 and 2.4: dependencies point one way, and only main.ts owns the process.

function sourceFiles (dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const path = join(dir, name)
    if (name === 'node_modules') return []
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return path.endsWith('.ts') ? [path] : []
  })
}

const packageSources = readdirSync('packages').flatMap(p => sourceFiles(join('packages', p, 'src')))
const serviceSources = readdirSync('services').flatMap(s => sourceFiles(join('services', s, 'src')))

test('packages never import a service', () => {
  const offenders = packageSources.filter(f => /from '@internal\/(monitor|consumer)'|services\//.test(readFileSync(f, 'utf8')))
  assert.deepEqual(offenders, [])
})

test('config, events and telemetry import no workspace package', () => {
  const leaves = packageSources.filter(f => /^packages\/(config|events|telemetry)\//.test(f))
  const offenders = leaves.filter(f => /from '@internal\//.test(readFileSync(f, 'utf8')))
  assert.deepEqual(offenders, [])
})

test('services import packages only through their front door', () => {
  const offenders = [...serviceSources, ...packageSources].filter(f => /from '@internal\/[a-z]+\/.+'/.test(readFileSync(f, 'utf8')))
  assert.deepEqual(offenders, [])
})

test('only main.ts reads the environment, handles signals or exits', () => {
  const offenders = [...serviceSources, ...packageSources]
    .filter(f => !f.endsWith('/main.ts'))
    .filter(f => /process\.(env\b|exit\(|on\('SIG|once\('SIG)/.test(readFileSync(f, 'utf8')))
  assert.deepEqual(offenders, [])
})

test('every Lua script opens with a header naming its keys', () => {
  const luaDirs = [...readdirSync('packages').map(p => join('packages', p, 'lua')), ...readdirSync('services').map(s => join('services', s, 'lua'))]
  const scripts = luaDirs.flatMap(dir => { try { return readdirSync(dir).filter(f => f.endsWith('.lua')).map(f => join(dir, f)) } catch { return [] } })
  assert.ok(scripts.length > 0)
  const offenders = scripts.filter(f => !/^--\[\[[\s\S]*KEYS\[1\][\s\S]*\]\]/.test(readFileSync(f, 'utf8')))
  assert.deepEqual(offenders, [])
})

test('every Lua script is registered one way: defineScript', () => {
  const offenders = [...serviceSources, ...packageSources]
    .filter(f => !f.endsWith('packages/redis/src/scripts.ts'))
    .filter(f => /\.defineCommand\(|\.eval(sha)?\(/.test(readFileSync(f, 'utf8')))
  assert.deepEqual(offenders, [])
})
