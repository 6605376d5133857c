// `npm run demo` end to end: real redis-server, the monitor and consumer processes, the API
// calls of the README, object changes, webhooks printed as they arrive, and Ctrl-C stopping
// everything it started. Also the receiver's signature check against the consumer's signer.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { signWebhook, signingKey } from '../services/consumer/src/signature.ts'
import { ROOT } from './k8s-support.ts'
import { waitFor } from './support/ports.ts'

type Verify = (secret: string, headers: Record<string, string>, body: string, opts?: { nowSec?: number }) => boolean
const { verifySignature } = await import(pathToFileURL(join(ROOT, 'scripts/demo/verify-signature.mjs')).href) as { verifySignature: Verify }

test('the README\'s signature check accepts what the consumer signs, and only that', () => {
  const body = JSON.stringify({ bucket: 'b', key: 'k', event_type: 'created' })
  const pairs = [
    [`whsec_${Buffer.from('a standard webhooks secret!').toString('base64')}`, `whsec_${Buffer.from('another webhooks secret!!!').toString('base64')}`],
    ['a raw signing secret of any length', 'another raw signing secret']
  ]
  for (const [secret, wrong] of pairs as Array<[string, string]>) {
    const now = 1_795_000_000
    const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(now), 'webhook-signature': signWebhook(signingKey(secret), 'evt_1', now, body) }
    assert.equal(verifySignature(secret, headers, body, { nowSec: now + 10 }), true)
    assert.equal(verifySignature(secret, headers, body.replace('created', 'deleted'), { nowSec: now }), false, 'tampered body')
    assert.equal(verifySignature(secret, { ...headers, 'webhook-id': 'evt_2' }, body, { nowSec: now }), false, 'other id')
    assert.equal(verifySignature(secret, headers, body, { nowSec: now + 3600 }), false, 'replayed an hour later')
    assert.equal(verifySignature(wrong, headers, body, { nowSec: now }), false, 'wrong secret')
  }
})

test('without redis-server, the demo says how to install it and stops', (t) => {
  const bin = mkdtempSync(join(tmpdir(), 'demo-path-'))
  t.after(() => rmSync(bin, { recursive: true, force: true }))
  for (const tool of ['node', 'dirname']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim()
    symlinkSync(found, join(bin, tool))
  }
  const run = spawnSync('/bin/bash', ['scripts/demo.sh'], { cwd: ROOT, encoding: 'utf8', env: { PATH: bin, HOME: process.env.HOME } })
  assert.equal(run.status, 1)
  assert.match(run.stderr, /redis-server is not installed/)
  assert.match(run.stderr, /sudo apt-get install redis-server/)
})

test('npm run demo: webhooks for every change arrive, then Ctrl-C stops everything', { timeout: 120_000 }, async (t) => {
  const demo = spawn('bash', ['scripts/demo.sh'], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => { if (demo.exitCode === null) demo.kill('SIGKILL') })
  let output = ''
  demo.stdout.on('data', d => { output += d })
  demo.stderr.on('data', d => { output += d })
  const exited = new Promise<number | null>(resolve => demo.once('exit', code => resolve(code)))

  await waitFor(() => output.includes('Press Ctrl-C') || demo.exitCode !== null, { timeoutMs: 100_000, what: 'the demo to finish its changes' })
  assert.equal(demo.exitCode, null, output)
  for (const line of [/created\s+demo-bucket\/invoices\/2026\/11\/invoice-001\.pdf.*signature ok/, /updated\s+demo-bucket\/reports\/2026\/11\/summary\.csv/, /deleted\s+demo-bucket\/invoices\/2026\/11\/invoice-002\.pdf/]) {
    assert.match(output, line, output)
  }
  assert.match(output, /"message": "Bucket demo-bucket added to active configuration"/)
  const ports = [...output.matchAll(/on (?:127\.0\.0\.1)?:(\d+)/g)].map(m => Number(m[1]))
  assert.ok(ports.length >= 4, `ports in ${output}`)
  try {
    await driveAsPrinted(t, output)
  } catch (err) {
    demo.kill('SIGINT') // the demo stops what it started; SIGKILL would leave its children running
    await exited
    throw err
  }

  const started = childrenOf(demo.pid!)
  assert.ok(started.length >= 5, `the demo's processes: ${started.join(', ')}`)
  demo.kill('SIGINT')
  const code = await exited
  assert.equal(code, 130)
  // The processes themselves, not their ports: with test files running in parallel, a port
  // freed by the demo can be taken at once by another test's server.
  const alive = started.filter(pid => { try { process.kill(pid, 0); return !isZombie(pid) } catch { return false } })
  assert.deepEqual(alive, [], 'every process the demo started is gone after Ctrl-C')
})

/**
 * What a user does with the demo's output: the printed whole token works, and the README's
 * "Driving the demo" block runs, unchanged, after the printed export lines. curl fails on
 * any HTTP error there (a curlrc with fail-with-body), and bash stops at the first failure.
 */
async function driveAsPrinted (t: { after: (fn: () => void) => void }, output: string): Promise<void> {
  assert.match(output, /client id: {6}demo-client\n\s+client secret: {2}demo-client-secret-change-me\n\s+token: {10}eyJ[\w-]+\.[\w-]+\.[\w-]+\n/)
  const exports = [...output.matchAll(/^\s+(export (?:API|TOKEN)=.*)$/gm)].map(m => m[1]!)
  assert.equal(exports.length, 2, output)
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const block = /<!-- demo-walkthrough[^>]*-->\n```bash\n([\s\S]*?)```/.exec(readme)?.[1]
  assert.ok(block, 'the README has the walkthrough block')
  const dir = mkdtempSync(join(tmpdir(), 'demo-walk-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, '.curlrc'), 'fail-with-body\n')
  const script = ['set -euo pipefail', ...exports, 'curl -s "$API/api/buckets" -H "Authorization: Bearer $TOKEN" > /dev/null', block].join('\n')
  const run = spawnSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, CURL_HOME: dir, XDG_CONFIG_HOME: dir } })
  assert.equal(run.status, 0, `walkthrough failed:\n${run.stdout}\n${run.stderr}`)
  assert.match(run.stdout, /"name":"demo-bucket"/)
  assert.match(run.stdout, /"notifications":"disabled"[\s\S]*"notifications":"enabled"/)
  assert.match(run.stdout, /\}200\n/, 'openapi.json without a token')
  assert.match(run.stdout, /"status": "logged in"|status\s+logged in/)
  assert.match(run.stderr, /resync demo-bucket: ok, \d+ objects listed of \d+ tracked/)
}

/** Direct children of `pid`, from /proc (Linux). */
function childrenOf (pid: number): number[] {
  return readdirSync('/proc').filter(name => /^\d+$/.test(name)).flatMap(name => {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid ? [Number(name)] : []
    } catch { return [] }
  })
}

function isZombie (pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch { return true }
}
