// The Grafana dashboard and the alert rules against a real Prometheus: Debian's prometheus
// scrapes both services every second during a short pipeline run (uploads, a receiver that
// fails some events (retried, then dead-lettered), webhooks authorised by an OAuth2 server, a bucket whose credentials the store refuses), then every dashboard
// query (template variables substituted) and every alert expression is evaluated. Each must
// parse, and each dashboard query must return data, since the run produces all of it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { OAuth2Server } from 'oauth2-mock-server'
import { startPipeline } from './support/pipeline.ts'
import { freePort, waitFor } from './support/ports.ts'
import { killProcess } from './support/redis-server.ts'
import { K8S, readDocuments } from './k8s-support.ts'

interface Panel { title: string, datasource?: { type?: string, uid?: string }, targets?: Array<{ expr?: string, datasource?: { uid?: string } }> }
const dashboard = JSON.parse(readFileSync(join(K8S, 'overlays/grafana/watch-folder-dashboard.json'), 'utf8')) as { panels: Panel[] }
const isLoki = (p: Panel) => p.datasource?.uid === '${loki}' || p.datasource?.type === 'loki'
const variables: Record<string, string> = { __rate_interval: '5s', __range: '1m', __interval: '1s', bucket: '.+' }
const substitute = (expr: string) => expr.replace(/\$\{?(\w+)\}?/g, (_m, name: string) => variables[name] ?? `$${name}`)
const panelQueries = dashboard.panels.filter(p => !isLoki(p))
  .flatMap(p => (p.targets ?? []).flatMap(t => t.expr ? [{ title: p.title, expr: substitute(t.expr) }] : []))
const alertRules = (readDocuments(join(K8S, 'overlays/servicemonitor/prometheusrule.yaml'))[0]!.spec.groups as Array<{ rules: Array<{ alert: string, expr: string }> }>)
  .flatMap(g => g.rules)

async function startPrometheus (targets: Record<string, number[]>) {
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-'))
  const port = await freePort()
  writeFileSync(join(dir, 'prometheus.yml'), stringify({
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    scrape_configs: Object.entries(targets).map(([job, ports]) => ({ job_name: job, static_configs: [{ targets: ports.map(p => `127.0.0.1:${p}`) }] }))
  }))
  const proc = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' })
  const url = `http://127.0.0.1:${port}`
  await waitFor(async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true, { timeoutMs: 30_000, everyMs: 200, what: 'prometheus ready' })
  const query = async (q: string) => await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`)).json() as { status: string, error?: string, data?: { result: unknown[] } }
  const stop = async () => { await killProcess(proc, 'SIGKILL'); rmSync(dir, { recursive: true, force: true }) }
  return { query, stop }
}

test('every dashboard query and alert expression runs on a real Prometheus scraping both services', async (t) => {
  const oauth = new OAuth2Server()
  await oauth.issuer.keys.generate('RS256')
  await oauth.start(0, '127.0.0.1')
  t.after(() => oauth.stop())
  const webhookAuth = { type: 'oauth2', client_id: 'live-client', client_secret: 'live-client-secret', token_url: `http://127.0.0.1:${oauth.address().port}/token` }
  const p = await startPipeline({ bucket: { webhook_auth: webhookAuth }, extraBuckets: [{ name: 'refused-credentials' }] })
  t.after(() => p.stop())
  p.s3.createBucket('refused-credentials')
  let slowDowns = 1 // one SlowDown, so the throttling panel has data
  p.s3.intercept = ({ bucket, op }) => {
    if (bucket === 'refused-credentials') return { status: 403, code: 'InvalidAccessKeyId' }
    if (bucket === p.bucket && op === 'list' && slowDowns-- > 0) return { status: 503, code: 'SlowDown' }
    return undefined
  }
  const respond = p.receiver.respond
  p.receiver.respond = (req, res) => {
    if (String(req.json?.key).startsWith('fail/')) { res.statusCode = 503; res.end('unavailable'); return }
    return respond(req, res)
  }
  const monitor = await p.startMonitor()
  const consumer = await p.startConsumer()
  const prom = await startPrometheus({ 'bucket-monitor': [monitor.port], 'webhook-consumer': [consumer.port] })
  t.after(() => prom.stop())

  for (let i = 0; i < 20; i++) p.s3.put(p.bucket, `ok/${i}.dat`, `body ${i}`)
  for (let i = 0; i < 3; i++) p.s3.put(p.bucket, `fail/${i}.dat`, 'refused by the receiver')
  await fetch(`http://127.0.0.1:${monitor.port}/api/bucket-notifications/status`)
  await fetch(`http://127.0.0.1:${monitor.port}/api/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: 'pipeline', client_secret: 'wrong' }) })
  await waitFor(() => p.changesSeen.size >= 20, { timeoutMs: 30_000, what: 'deliveries' })
  // Enough scrapes of both services since the run for rate() over the dashboard's interval.
  const scrapes = async () => Number((await prom.query('min(count_over_time(up[8s]))')).data?.result.map((r: any) => r.value[1])[0] ?? 0)
  await waitFor(async () => await scrapes() >= 6, { timeoutMs: 20_000, everyMs: 500, what: 'six scrapes of each service' })

  const empty: string[] = []
  for (const { title, expr } of panelQueries) {
    const answer = await prom.query(expr)
    assert.equal(answer.status, 'success', `panel "${title}": ${expr}: ${answer.error}`)
    if ((answer.data?.result.length ?? 0) === 0) empty.push(`${title}: ${expr}`)
  }
  for (const rule of alertRules) {
    const answer = await prom.query(rule.expr)
    assert.equal(answer.status, 'success', `alert ${rule.alert}: ${rule.expr}: ${answer.error}`)
  }
  t.diagnostic(`evaluated ${panelQueries.length} dashboard queries and ${alertRules.length} alert expressions`)
  assert.deepEqual(empty, [], 'dashboard queries without data')
})
