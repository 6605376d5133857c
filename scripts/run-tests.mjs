// Runs the type check and then every test file with node's test runner. The file list is
// built here so that an argument can pick test files by a part of their path.
import { spawnSync } from 'node:child_process'
import { nodeProblem } from './ensure-node.mjs'
import { readdirSync, existsSync } from 'node:fs'
import { join } from 'node:path'

if (nodeProblem()) {
  console.error(nodeProblem())
  process.exit(1)
}

const roots = ['packages', 'services']
  .flatMap(dir => readdirSync(dir).map(name => join(dir, name, 'test')))
  .concat(['test'])
const files = roots
  .filter(dir => existsSync(dir))
  .flatMap(dir => readdirSync(dir).filter(f => f.endsWith('.test.ts')).map(f => join(dir, f)))
  .filter(file => process.argv.length <= 2 || process.argv.slice(2).some(arg => file.includes(arg)))

const env = {
  ...process.env,
  // s3rver encrypts continuation tokens with DES, which OpenSSL 3 only offers through the legacy provider.
  NODE_OPTIONS: [process.env.NODE_OPTIONS, '--openssl-legacy-provider'].filter(Boolean).join(' '),
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'
}

// The whole run starts with the static checks: types, the linter, and no import cycle.
const checks = [
  ['tsc', '-p', 'tsconfig.json'],
  ['eslint', '.'],
  ['madge', '--circular', '--extensions', 'ts', '--ts-config', 'tsconfig.json', '--no-spinner', 'packages', 'services', 'test', 'bench', 'scripts']
]
if (process.argv.length <= 2) {
  for (const check of checks) {
    const run = spawnSync('npx', check, { stdio: 'inherit', env })
    if (run.status !== 0) process.exit(run.status ?? 1)
  }
}
// Building and running the container images needs root (buildah, podman) and keeps both cores
// busy for minutes: those tests run after the rest, so timing-sensitive tests never share the
// machine with an image build.
const alone = file => file.endsWith('images.test.ts')
const isRoot = process.getuid?.() === 0
if (!isRoot && files.some(alone)) console.log('# not root: the container image tests (test/images.test.ts) need root for buildah and podman and are left out')
const phases = [files.filter(f => !alone(f)), isRoot ? files.filter(alone) : []].filter(list => list.length > 0)
let status = 0
for (const list of phases) {
  const run = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=120000', ...list], { stdio: 'inherit', env })
  status ||= run.status ?? 1
}
process.exit(status)
