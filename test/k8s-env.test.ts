// The services' configuration in the manifests: the ConfigMap against the services' own
// schemas, and every env var and Secret reference against what the services read.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '@internal/config'
import {
  K8S, envNamesReadByServices, exampleSecrets, find, loadK8sConfig, podSpec, renderKustomization, RUNTIME_ENV
} from './k8s-support.ts'

const objects = renderKustomization(K8S)
const services = { 'bucket-monitor': 8080, 'webhook-consumer': 8081 } as const

test('the ConfigMap config.yaml passes the services\' own config schema', () => {
  const config = loadK8sConfig()
  assert.equal(config.redis.master_name, 'mymaster')
  assert.equal(config.redis.queue_name, 'linode:notifications:queue')
  const redis = find(objects, 'StatefulSet', 'redis')!
  const expected = Array.from({ length: redis.spec.replicas }, (_, i) => `redis-${i}.${redis.spec.serviceName}:26379`)
  assert.deepEqual(config.redis.sentinel_host!.split(','), expected, 'sentinel_host lists every sentinel pod')
})

test('every env var the manifests give the services is one they read; every Secret reference is documented', async () => {
  const read = await envNamesReadByServices()
  const documented = exampleSecrets()
  for (const name of Object.keys(services)) {
    const container = podSpec(find(objects, 'Deployment', name)!).containers[0]
    for (const e of container.env) {
      assert.ok(read.has(e.name) || RUNTIME_ENV.has(e.name), `${name} sets ${e.name}, which no service reads`)
      const ref = e.valueFrom?.secretKeyRef
      if (ref) assert.ok(documented.some(s => s.metadata.name === ref.name && ref.key in s.stringData), `${ref.name}/${ref.key} not in secrets.yaml.example`)
    }
    for (const v of podSpec(find(objects, 'Deployment', name)!).volumes) {
      if (v.configMap) assert.ok(find(objects, 'ConfigMap', v.configMap.name), `ConfigMap ${v.configMap.name}`)
    }
  }
})

test('each Deployment\'s env and the ConfigMap pass the service\'s own start-up validation', async () => {
  const { loadMonitorConfig } = await import('../services/monitor/src/config.ts')
  const { ConsumerEnv } = await import('../services/consumer/src/config.ts')
  // Values for the required Secrets (optional ones stay unset, as when they do not exist).
  const secretValues: Record<string, string> = {
    'api-auth-secrets/jwt-secret': 'j'.repeat(48),
    'api-auth-secrets/client-id': 'client',
    'api-auth-secrets/client-secret': 'c'.repeat(32),
    'watch-folder-secrets-key/secrets-key': Buffer.alloc(32, 7).toString('base64')
  }
  const dir = mkdtempSync(join(tmpdir(), 'k8s-env-'))
  try {
    const file = join(dir, 'config.yaml')
    writeFileSync(file, find(objects, 'ConfigMap', 'watch-folder-config')!.data['config.yaml'])
    for (const name of Object.keys(services)) {
      const container = podSpec(find(objects, 'Deployment', name)!).containers[0]
      const podEnv: Record<string, string> = {}
      for (const e of container.env) {
        const ref = e.valueFrom?.secretKeyRef
        const value = ref ? secretValues[`${ref.name}/${ref.key}`] : e.value
        if (value !== undefined) podEnv[e.name] = value
      }
      podEnv.CONFIG_PATH = file
      if (name === 'bucket-monitor') {
        const { config } = loadMonitorConfig(podEnv)
        assert.equal(config.httpPort, 8080)
      } else {
        ConsumerEnv.parse(podEnv)
        assert.equal(loadConfig(podEnv, { defaultHttpPort: 8081 }).httpPort, 8081)
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
