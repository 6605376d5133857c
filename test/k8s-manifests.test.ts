// Every manifest under k8s/ renders and is valid against the Kubernetes schemas, offline.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join, relative } from 'node:path'
import {
  K8S, builtInModel, kubectlKustomize, kustomizationDirs, objectKey, readDocuments, renderKustomization,
  type K8sObject
} from './k8s-support.ts'

const dirs = kustomizationDirs()
const sortByKey = (objects: K8sObject[]) => [...objects].sort((a, b) => objectKey(a).localeCompare(objectKey(b)))

test('k8s/ has the entry point, the base and the overlays', () => {
  const names = dirs.map(d => relative(K8S, d) || '.')
  for (const expected of ['.', 'base', 'overlays/keda', 'overlays/servicemonitor', 'overlays/grafana', 'overlays/logging']) {
    assert.ok(names.includes(expected), `missing kustomization in k8s/${expected}`)
  }
})

for (const dir of dirs) {
  const name = relative(K8S, dir) || '.'

  test(`k8s/${name}: renders, with unique object names`, () => {
    const objects = renderKustomization(dir)
    assert.ok(objects.length > 0)
    const keys = objects.map(objectKey)
    assert.deepEqual(keys.filter((k, i) => keys.indexOf(k) !== i), [], 'duplicate objects')
  })

  test(`k8s/${name}: the offline rendering equals kubectl kustomize (where kubectl exists)`, (t) => {
    const fromKubectl = kubectlKustomize(dir)
    if (!fromKubectl) {
      t.diagnostic('kubectl not installed: compared nothing')
      return
    }
    assert.deepEqual(sortByKey(renderKustomization(dir)), sortByKey(fromKubectl))
  })

  test(`k8s/${name}: every object passes its schema`, () => {
    for (const o of renderKustomization(dir)) assertValid(o)
  })
}

test('the base commits no Secret; the example Secrets are valid and hold only placeholders', () => {
  for (const dir of dirs) {
    const secrets = renderKustomization(dir).filter(o => o.kind === 'Secret')
    assert.deepEqual(secrets.map(objectKey), [], `${dir} renders a Secret`)
  }
  const examples = readDocuments(join(K8S, 'secrets.yaml.example'))
  assert.ok(examples.length >= 4)
  for (const secret of examples) {
    assert.equal(secret.kind, 'Secret')
    assertValid(secret)
    for (const [key, value] of Object.entries(secret.stringData ?? {})) {
      const placeholder = /^<.*>$/.test(String(value)) || /^https:\/\/|^prod$/.test(String(value))
      assert.ok(placeholder, `${secret.metadata.name}.${key} looks like a real value`)
    }
  }
})

test('every namespaced object of the deployment is in object-monitor', () => {
  for (const o of renderKustomization(K8S)) {
    if (o.kind === 'Namespace') assert.equal(o.metadata.name, 'object-monitor')
    else assert.equal(o.metadata.namespace, 'object-monitor', objectKey(o))
  }
})

/** Built-in kinds through kubernetes-models; the two custom resources by their required fields. */
function assertValid (o: K8sObject): void {
  assert.ok(o.apiVersion && o.kind && o.metadata?.name, `incomplete object ${JSON.stringify(o).slice(0, 80)}`)
  const custom = CUSTOM_CHECKS[`${o.apiVersion}/${o.kind}`]
  if (custom) return custom(o)
  const Model = builtInModel(o.apiVersion, o.kind)
  assert.ok(Model, `unknown kind ${o.apiVersion}/${o.kind}`)
  try {
    new Model(o).validate()
  } catch (err) {
    assert.fail(`${objectKey(o)}: ${(err as Error).message}`)
  }
}

const CUSTOM_CHECKS: Record<string, (o: K8sObject) => void> = {
  'keda.sh/v1alpha1/ScaledObject': (o) => {
    assert.equal(typeof o.spec.scaleTargetRef?.name, 'string')
    assert.ok(Number.isInteger(o.spec.minReplicaCount) && Number.isInteger(o.spec.maxReplicaCount))
    assert.ok(o.spec.minReplicaCount <= o.spec.maxReplicaCount)
    assert.ok(Array.isArray(o.spec.triggers) && o.spec.triggers.length > 0)
    for (const trigger of o.spec.triggers) {
      assert.equal(typeof trigger.type, 'string')
      for (const value of Object.values(trigger.metadata ?? {})) assert.equal(typeof value, 'string', 'KEDA metadata values are strings')
    }
  },
  'monitoring.coreos.com/v1/PrometheusRule': (o) => {
    assert.ok(Array.isArray(o.spec.groups) && o.spec.groups.length > 0)
    for (const group of o.spec.groups) {
      assert.equal(typeof group.name, 'string')
      for (const rule of group.rules) {
        assert.ok(typeof rule.alert === 'string' && typeof rule.expr === 'string', 'alert and expr')
        if (rule.for !== undefined) assert.match(rule.for, /^\d+[smh]$/)
      }
    }
  },
  'monitoring.coreos.com/v1/ServiceMonitor': (o) => {
    assert.ok(o.spec.selector?.matchLabels, 'selector.matchLabels')
    assert.ok(Array.isArray(o.spec.endpoints) && o.spec.endpoints.length > 0)
    for (const e of o.spec.endpoints) assert.ok(e.port && e.path, 'endpoint port and path')
  }
}
