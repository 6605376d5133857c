// What a schema cannot check: probes, resources, security, scaling targets, selectors,
// the config file against the services' own schema, and env names against what they read.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '@internal/config'
import {
  K8S, envNamesReadByServices, find, matches, podContainers, podSpec, readDocuments, renderKustomization,
  RUNTIME_ENV, type K8sObject
} from './k8s-support.ts'

const objects = renderKustomization(K8S)
const keda = renderKustomization(join(K8S, 'overlays', 'keda'))
const of = (kind: string) => objects.filter(o => o.kind === kind)
const workloads = objects.filter(o => podSpec(o) !== undefined)
const services = { 'bucket-monitor': 8080, 'webhook-consumer': 8081 } as const

test('the two services run as Deployments on their ports, and Redis as a 3-pod StatefulSet', () => {
  for (const [name, port] of Object.entries(services)) {
    const d = find(objects, 'Deployment', name)
    assert.ok(d, name)
    const c = podSpec(d).containers[0]
    assert.deepEqual(c.ports, [{ name: 'http', containerPort: port }])
    assert.equal(env(c).HTTP_PORT, String(port))
  }
  const redis = find(objects, 'StatefulSet', 'redis')!
  assert.equal(redis.spec.replicas, 3)
  assert.deepEqual(podSpec(redis).containers.map((c: any) => c.name), ['redis', 'sentinel'])
  assert.equal(redis.spec.volumeClaimTemplates[0].metadata.name, 'data')
  const anti = podSpec(redis).affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]
  assert.ok(matches(anti.labelSelector.matchLabels, redis.spec.template.metadata.labels), 'anti-affinity against its own pods')
  assert.equal(find(objects, 'Service', redis.spec.serviceName)?.spec.clusterIP, 'None', 'headless governing Service')
  assert.ok(find(objects, 'Service', 'redis-sentinel'))
})

test('every Deployment has /health and /ready probes on its http port', () => {
  for (const d of of('Deployment')) {
    for (const c of podSpec(d).containers) {
      assert.deepEqual(c.livenessProbe?.httpGet, { path: '/health', port: 'http' }, `${d.metadata.name} liveness`)
      assert.deepEqual(c.readinessProbe?.httpGet, { path: '/ready', port: 'http' }, `${d.metadata.name} readiness`)
    }
  }
})

test('every container has CPU and memory requests and limits', () => {
  for (const w of workloads) {
    for (const c of podContainers(w)) {
      for (const kind of ['requests', 'limits']) {
        assert.ok(c.resources?.[kind]?.cpu && c.resources?.[kind]?.memory, `${w.metadata.name}/${c.name} ${kind}`)
      }
    }
  }
})

test('every pod runs non-root, read-only, without capabilities, with seccomp RuntimeDefault', () => {
  for (const w of workloads) {
    const pod = podSpec(w)
    assert.equal(pod.securityContext?.runAsNonRoot, true, `${w.metadata.name} runAsNonRoot`)
    assert.ok(pod.securityContext.runAsUser > 0, `${w.metadata.name} runAsUser`)
    assert.equal(pod.securityContext.seccompProfile?.type, 'RuntimeDefault')
    assert.equal(pod.automountServiceAccountToken, false, `${w.metadata.name} mounts no API token`)
    for (const c of podContainers(w)) {
      assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${c.name} readOnlyRootFilesystem`)
      assert.equal(c.securityContext.allowPrivilegeEscalation, false, `${c.name} allowPrivilegeEscalation`)
      assert.deepEqual(c.securityContext.capabilities?.drop, ['ALL'], `${c.name} drops ALL`)
    }
  }
})

test('terminationGracePeriodSeconds outlasts preStop plus SHUTDOWN_TIMEOUT_MS, which outlasts a delivery', () => {
  const config = loadK8sConfig()
  for (const d of of('Deployment')) {
    const c = podSpec(d).containers[0]
    const shutdownMs = Number(env(c).SHUTDOWN_TIMEOUT_MS)
    const preStopMs = Number(c.lifecycle?.preStop?.exec?.command?.[1] ?? 0) * 1000
    assert.ok(shutdownMs > 0, `${d.metadata.name} sets SHUTDOWN_TIMEOUT_MS`)
    assert.ok(podSpec(d).terminationGracePeriodSeconds * 1000 > preStopMs + shutdownMs, d.metadata.name)
    assert.ok(shutdownMs > config.webhook.timeout * 1000, 'an in-flight delivery can finish')
  }
})

test('HPAs: monitor 3-5 on CPU and memory, consumer 2-4 on CPU, each on an existing Deployment', () => {
  const expected = { 'bucket-monitor': [3, 5, ['cpu', 'memory']], 'webhook-consumer': [2, 4, ['cpu']] } as const
  assert.equal(of('HorizontalPodAutoscaler').length, 2)
  for (const hpa of of('HorizontalPodAutoscaler')) {
    const target = hpa.spec.scaleTargetRef
    assert.equal(target.kind, 'Deployment')
    assert.ok(find(objects, 'Deployment', target.name), `HPA ${hpa.metadata.name} targets a missing ${target.name}`)
    const [min, max, metrics] = expected[target.name as keyof typeof expected]
    assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [min, max])
    assert.deepEqual(hpa.spec.metrics.map((m: any) => m.resource.name), metrics)
  }
})

test('the KEDA overlay replaces the consumer HPA with a ScaledObject on the event queue', () => {
  const config = loadK8sConfig()
  assert.equal(find(keda, 'HorizontalPodAutoscaler', 'webhook-consumer'), undefined)
  assert.ok(find(keda, 'HorizontalPodAutoscaler', 'bucket-monitor'))
  const scaled = find(keda, 'ScaledObject', 'webhook-consumer')!
  assert.ok(find(keda, 'Deployment', scaled.spec.scaleTargetRef.name))
  const trigger = scaled.spec.triggers.find((t: any) => t.type === 'redis-sentinel')
  assert.equal(trigger.metadata.listName, config.redis.queue_name)
  assert.equal(trigger.metadata.sentinelMaster, config.redis.master_name)
  const sentinels = trigger.metadata.addresses.split(',')
  assert.deepEqual(sentinels, [0, 1, 2].map(i => `redis-${i}.redis.object-monitor.svc.cluster.local:26379`))
  const policy = find(keda, 'NetworkPolicy', 'redis-from-keda')!
  assert.equal(policy.spec.ingress[0].from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'], 'keda')
})

test('PodDisruptionBudgets and Services select existing pods and name existing ports', () => {
  for (const pdb of of('PodDisruptionBudget')) {
    assert.equal(workloads.filter(w => matches(pdb.spec.selector.matchLabels, w.spec.template.metadata.labels)).length, 1, pdb.metadata.name)
  }
  for (const svc of of('Service')) {
    const targets = workloads.filter(w => matches(svc.spec.selector, w.spec.template.metadata.labels))
    assert.equal(targets.length, 1, `Service ${svc.metadata.name} selects one workload`)
    const ports = podSpec(targets[0]!).containers.flatMap((c: any) => c.ports.map((p: any) => p.name))
    for (const p of svc.spec.ports) assert.ok(ports.includes(p.targetPort), `${svc.metadata.name} -> ${p.targetPort}`)
  }
})

test('only the monitor, the consumer and Redis itself reach Redis', () => {
  const policies = of('NetworkPolicy')
  const redisLabels = find(objects, 'StatefulSet', 'redis')!.spec.template.metadata.labels
  const guarding = policies.filter(p => matches(p.spec.podSelector.matchLabels, redisLabels))
  assert.equal(guarding.length, 1)
  const rule = guarding[0]!.spec
  assert.deepEqual(rule.policyTypes, ['Ingress'])
  assert.deepEqual(rule.ingress.flatMap((i: any) => i.ports.map((p: any) => p.port)).sort(), [26379, 6379])
  const allowed = workloads.filter(w => rule.ingress.some((i: any) => i.from.some((f: any) => !f.namespaceSelector && matches(f.podSelector.matchLabels, w.spec.template.metadata.labels))))
  assert.deepEqual(allowed.map(w => w.metadata.name).sort(), ['bucket-monitor', 'redis', 'webhook-consumer'])
})

test('the API is published on 443 only, with TLS at the NodeBalancer from a documented Secret', () => {
  const lbs = of('Service').filter(s => s.spec.type === 'LoadBalancer')
  assert.deepEqual(lbs.map(s => s.metadata.name), ['bucket-monitor-api'])
  const api = lbs[0]!
  assert.deepEqual(api.spec.ports.map((p: any) => p.port), [443])
  const tls = JSON.parse(api.metadata.annotations!['service.beta.kubernetes.io/linode-loadbalancer-port-443']!)
  assert.equal(tls.protocol, 'https')
  assert.ok(exampleSecrets().some(s => s.metadata.name === tls['tls-secret-name'] && s.type === 'kubernetes.io/tls'))
})

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

function env (container: any): Record<string, string> {
  return Object.fromEntries(container.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]))
}

function exampleSecrets (): K8sObject[] {
  return readDocuments(join(K8S, 'secrets.yaml.example'))
}

/** Loads the ConfigMap's config.yaml with loadConfig, as the services do at start. */
function loadK8sConfig () {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-config-'))
  try {
    const file = join(dir, 'config.yaml')
    writeFileSync(file, find(objects, 'ConfigMap', 'watch-folder-config')!.data['config.yaml'])
    return loadConfig({ CONFIG_PATH: file }, { defaultHttpPort: 8080 })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
