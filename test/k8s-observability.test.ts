// The Grafana dashboard, the Promtail pipeline and the ServiceMonitor against what the
// services really export and log: metric names from their source, log fields from the logger.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { K8S, ROOT, find, matches, podSpec, renderKustomization, sourceFiles } from './k8s-support.ts'

const dashboard = JSON.parse(readFileSync(join(K8S, 'overlays/grafana/watch-folder-dashboard.json'), 'utf8'))
const panels: any[] = dashboard.panels.filter((p: any) => p.type !== 'row')
const targets = panels.flatMap(p => (p.targets ?? []).map((t: any) => ({ ...t, panel: p.title, source: p.datasource.type })))
const promtail = parse(readFileSync(join(K8S, 'overlays/logging/promtail-config.yaml'), 'utf8'))
const base = renderKustomization(K8S)

/** Metric names registered anywhere in the services' and packages' source (`name: '...'`). */
function exportedMetrics (): Set<string> {
  const names = new Set<string>()
  for (const file of sourceFiles()) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\bname: '([a-z_][a-z0-9_]*)'/g)) names.add(m[1]!)
  }
  return names
}

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'le', 'vector'])

/** The metric names a PromQL expression selects. */
function metricNames (expr: string): string[] {
  const bare = expr.replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '').replace(/\b(by|without)\s*\([^)]*\)/g, '')
  return [...bare.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)].map(m => m[1]!)
    .filter(name => !PROMQL_WORDS.has(name) && !/^\d/.test(name))
    .map(name => name.replace(/_(bucket|sum|count)$/, ''))
}

test('the dashboard covers scans, events, deliveries, latency, breakers, queue depths, failovers and logs', () => {
  const titles = panels.map(p => p.title.toLowerCase()).join('\n')
  for (const topic of ['scan rate', 'scan duration', 'events by type', 'deliveries by outcome', 'delivery latency', 'circuit breakers', 'dead-letter', 'redis failovers', 'warnings and errors']) {
    assert.ok(titles.includes(topic), `no panel for ${topic}`)
  }
  assert.ok(targets.some(t => t.source === 'loki'), 'log panels from Loki')
  assert.deepEqual(new Set(panels.map(p => p.id)).size, panels.length, 'unique panel ids')
})

test('the dashboard\'s panels fit the 24-column grid without overlapping', () => {
  const taken = new Map<string, string>()
  for (const p of dashboard.panels) {
    const { x, y, w, h } = p.gridPos
    assert.ok(x >= 0 && x + w <= 24, `${p.title} fits the width`)
    for (let row = y; row < y + h; row++) {
      for (let col = x; col < x + w; col++) {
        const cell = `${col},${row}`
        assert.ok(!taken.has(cell), `${p.title} overlaps ${taken.get(cell)}`)
        taken.set(cell, p.title)
      }
    }
  }
})

test('every metric the dashboard queries is one the services export', () => {
  const exported = exportedMetrics()
  const queried = new Set(targets.filter(t => t.source === 'prometheus').flatMap(t => metricNames(t.expr)))
  assert.ok(queried.size >= 10, [...queried].join(' '))
  for (const name of queried) assert.ok(exported.has(name), `the dashboard queries ${name}, which no service exports`)
})

test('every metric the alert rules use is one the services export', () => {
  const rule = renderKustomization(join(K8S, 'overlays/servicemonitor')).find(o => o.kind === 'PrometheusRule')!
  const exprs: string[] = rule.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.expr))
  assert.ok(exprs.length >= 5)
  const exported = exportedMetrics()
  for (const name of exprs.flatMap(metricNames)) assert.ok(exported.has(name), `an alert uses ${name}, which no service exports`)
})

test('Loki queries use only the labels Promtail sets; request_id is never a label', () => {
  const stage = promtail.scrape_configs[0].pipeline_stages
  const labels = Object.keys(stage.find((s: any) => s.labels).labels)
  assert.deepEqual(labels.sort(), ['bucket', 'level', 'service'])
  const relabeled = promtail.scrape_configs[0].relabel_configs.map((r: any) => r.target_label).filter((l: string) => l && !l.startsWith('__'))
  const allowed = new Set([...labels, ...relabeled])
  assert.ok(!allowed.has('request_id'))
  for (const t of targets.filter(t => t.source === 'loki')) {
    const selectors = [...t.expr.matchAll(/\{([^}]*)\}/g)].map(m => m[1]!).filter((s: string) => !s.startsWith('.'))
    for (const selector of selectors) {
      for (const [, label] of selector.matchAll(/([a-z_]+)\s*(=~|!~|!=|=)/g)) assert.ok(allowed.has(label!), `${t.panel}: label ${label}`)
    }
  }
})

test('Promtail reads the logger\'s JSON fields and keeps exactly the two services\' pods', () => {
  const logger = readFileSync(join(ROOT, 'packages/telemetry/src/logger.ts'), 'utf8')
  const json = promtail.scrape_configs[0].pipeline_stages.find((s: any) => s.json).json.expressions
  assert.equal(json.service, 'logger')
  assert.match(logger, /base: \{ logger: service \}/, 'the service name is in the `logger` field')
  assert.match(logger, /messageKey: 'message'/)
  assert.equal(json.timestamp, 'timestamp')
  const keep = promtail.scrape_configs[0].relabel_configs.find((r: any) => r.action === 'keep' && String(r.source_labels).includes('app_kubernetes_io_name'))
  for (const [name, service] of [['bucket-monitor', 'monitor'], ['webhook-consumer', 'consumer']] as const) {
    assert.ok(new RegExp(`^(${keep.regex})$`).test(name))
    assert.match(readFileSync(join(ROOT, `services/${service}/src/main.ts`), 'utf8'), new RegExp(`createLogger\\(\\{ service: '${name}'`))
    assert.equal(find(base, 'Deployment', name)!.spec.template.metadata.labels['app.kubernetes.io/name'], name)
  }
})

test('the ServiceMonitor scrapes /metrics on the http port of both services and nothing else', () => {
  const monitor = find(renderKustomization(join(K8S, 'overlays/servicemonitor')), 'ServiceMonitor', 'watch-folder')!
  const selected = base.filter(o => o.kind === 'Service' && matches(monitor.spec.selector.matchLabels, o.metadata.labels))
  assert.deepEqual(selected.map(s => s.metadata.name).sort(), ['bucket-monitor', 'webhook-consumer'])
  for (const svc of selected) assert.ok(svc.spec.ports.some((p: any) => p.name === monitor.spec.endpoints[0].port))
  assert.equal(monitor.spec.endpoints[0].path, '/metrics')
  const workloads = base.filter(o => podSpec(o))
  for (const svc of selected) assert.equal(workloads.filter(w => matches(svc.spec.selector, w.spec.template.metadata.labels)).length, 1)
})
