// The shipped alert rules, checked by a real Prometheus toolchain: promtool parses them and
// runs the unit tests in test/prometheus/alerts.test.yaml, and every alert there has a case
// where it fires and one where it stays quiet.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import { K8S, ROOT, readDocuments } from './k8s-support.ts'

const RULE_FILE = join(K8S, 'overlays/servicemonitor/prometheusrule.yaml')
const UNIT_TESTS = join(ROOT, 'test/prometheus/alerts.test.yaml')

interface AlertCase { alertname: string, exp_alerts?: unknown[] }
const groups = readDocuments(RULE_FILE)[0]!.spec.groups as Array<{ rules: Array<{ alert?: string }> }>
const alerts = groups.flatMap(g => g.rules).flatMap(r => r.alert ? [r.alert] : [])
const cases = (parse(readFileSync(UNIT_TESTS, 'utf8')).tests as Array<{ alert_rule_test: AlertCase[] }>).flatMap(t => t.alert_rule_test)

function promtool (...args: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'promtool-'))
  try {
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }))
    copyFileSync(UNIT_TESTS, join(dir, 'alerts.test.yaml'))
    return execFileSync('promtool', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('promtool accepts every alert rule', () => {
  assert.match(promtool('check', 'rules', 'rules.yaml'), new RegExp(`SUCCESS: ${alerts.length} rules found`))
})

test('promtool unit tests of the alerts pass', () => {
  assert.match(promtool('test', 'rules', 'alerts.test.yaml'), /SUCCESS/)
})

test('every alert is unit-tested both firing and quiet', () => {
  assert.ok(alerts.length >= 6)
  for (const alert of alerts) {
    const mine = cases.filter(c => c.alertname === alert)
    assert.ok(mine.some(c => (c.exp_alerts ?? []).length > 0), `${alert} has no case where it fires`)
    assert.ok(mine.some(c => (c.exp_alerts ?? []).length === 0), `${alert} has no case where it stays quiet`)
  }
})
