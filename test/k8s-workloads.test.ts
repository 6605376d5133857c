// What a schema cannot check: probes, resources, security, shutdown deadlines, scaling
// targets, selectors, the network policy and the API's exposure.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import {
  K8S, exampleSecrets, find, literalEnv, loadK8sConfig, matches, podContainers, podSpec, renderKustomization
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
    assert.equal(literalEnv(c).HTTP_PORT, String(port))
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
    const shutdownMs = Number(literalEnv(c).SHUTDOWN_TIMEOUT_MS)
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
  // X-Forwarded-For is only believed from the NodeBalancer, which the pods see only without SNAT.
  assert.equal(api.spec.externalTrafficPolicy, 'Local')
  assert.equal(loadK8sConfig().api.trust_proxy, '192.168.255.0/24')
})
