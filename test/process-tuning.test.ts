// The monitor's heap and allocator settings (services/monitor/src/process-tuning.ts) are the
// same wherever it runs: the image, `npm run monitor`, the demo, the k8s manifests and docker-compose.yml
// (which run the image as built), and the benchmarks' and tests' monitor processes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { MONITOR_ENV, MONITOR_NODE_FLAGS } from '../services/monitor/src/process-tuning.ts'
import { K8S, ROOT, renderKustomization, type K8sObject } from './k8s-support.ts'

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')
const TUNED = /^(NODE_OPTIONS|MALLOC_)/
const MAIN = 'services/monitor/src/main.ts'

test('Dockerfile.monitor runs node with the flags and sets the allocator env', () => {
  const runtime = read('Dockerfile.monitor').split(/^FROM /m).at(-1)!
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(runtime)![1]!) as string[]
  assert.deepEqual(cmd, ['node', ...MONITOR_NODE_FLAGS, MAIN])
  const env = runtime.replace(/\\\n\s*/g, ' ').match(/^ENV .*$/gm)!.join(' ')
  for (const [name, value] of Object.entries(MONITOR_ENV)) assert.match(env, new RegExp(`\\b${name}=${value}\\b`), name)
  assert.doesNotMatch(runtime, /NODE_OPTIONS/, 'the flags are in CMD only')
})

test('npm run monitor runs node with the same flags and env', () => {
  const script = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.monitor
  const env = Object.entries(MONITOR_ENV).map(([k, v]) => `${k}=${v}`).join(' ')
  assert.equal(script, `exec env ${env} node ${MONITOR_NODE_FLAGS.join(' ')} ${MAIN}`)
})

test('the demo starts its monitor with the same flags and env', () => {
  const env = Object.entries(MONITOR_ENV).map(([k, v]) => `${k}=${v}`).join(' ')
  assert.ok(read('scripts/demo.sh').includes(`env ${env} node ${MONITOR_NODE_FLAGS.join(' ')} ${MAIN}`))
})

test('k8s and docker-compose.yml keep the image\'s command and set none of these themselves', () => {
  const monitor = renderKustomization(K8S).find((o: K8sObject) => o.kind === 'Deployment' && o.metadata.name === 'bucket-monitor')!
  const container = monitor.spec.template.spec.containers[0]
  assert.equal(container.command, undefined)
  assert.equal(container.args, undefined)
  assert.deepEqual((container.env as Array<{ name: string }>).filter(e => TUNED.test(e.name)), [])
  // The old-space limit leaves half the pod's memory to everything outside V8's heap.
  const limitMi = Number(/^(\d+)Mi$/.exec(container.resources.limits.memory)![1])
  const oldSpaceMb = Number(MONITOR_NODE_FLAGS.find(f => f.startsWith('--max-old-space-size='))!.split('=')[1])
  assert.ok(oldSpaceMb * 2 <= limitMi, `old space ${oldSpaceMb} MB in a ${limitMi} Mi pod`)
  const service = parse(read('docker-compose.yml'), { merge: true, maxAliasCount: -1 }).services.monitor
  assert.equal(service.command, undefined)
  assert.equal(service.entrypoint, undefined)
  assert.deepEqual(Object.keys(service.environment).filter(name => TUNED.test(name)), [])
})

test('the benchmarks and tests start their monitor processes with the shipped settings', () => {
  for (const file of ['bench/scan-latency.ts', 'test/support/services.ts']) {
    assert.match(read(file), /import \{ MONITOR_ENV, MONITOR_NODE_FLAGS \} from '[./]+services\/monitor\/src\/process-tuning\.ts'/, file)
  }
})
