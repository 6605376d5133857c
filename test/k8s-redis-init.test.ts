// The Redis StatefulSet's init script picks the master the sentinels know (always making
// redis-0 master would split the data after a failover). Run with a stub redis-cli that plays the other
// pods' sentinels, then the files it writes are loaded by a real redis-server and sentinel.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { connect } from 'node:net'
import { freePort, waitFor } from './support/ports.ts'
import { K8S, find, renderKustomization } from './k8s-support.ts'

const scripts = find(renderKustomization(K8S), 'ConfigMap', 'redis-scripts')!.data
const work = mkdtempSync(join(tmpdir(), 'redis-init-'))
after(() => rmSync(work, { recursive: true, force: true }))

const NS = 'object-monitor'
const host = (i: number) => `redis-${i}.redis.${NS}.svc.cluster.local`

// Answers `sentinel get-master-addr-by-name` per host from $STUB_ANSWERS ("host answer" lines);
// a host that is not listed refuses the connection, like a sentinel that is not up.
const STUB = `#!/bin/sh
host=""
while [ $# -gt 0 ]; do case "$1" in -h) host=$2; shift 2 ;; *) shift ;; esac; done
line=$(grep "^$host " "$STUB_ANSWERS" 2>/dev/null | head -n 1)
if [ -z "$line" ]; then echo "Could not connect to Redis at $host:26379: Connection refused" >&2; exit 1; fi
echo "\${line#* }"
echo 6379
`

interface Pod { conf: string, data: string, answers: string, run: (answers: Record<string, string>, env?: Record<string, string>) => { redis: string, sentinel: string } }

let pods = 0
function pod (ordinal: number): Pod {
  const dir = join(work, `pod-${pods++}`)
  const bin = join(dir, 'bin')
  const p = { conf: join(dir, 'conf'), data: join(dir, 'data'), answers: join(dir, 'answers') }
  for (const d of [bin, p.conf, p.data]) mkdirSync(d, { recursive: true })
  writeFileSync(join(bin, 'redis-cli'), STUB)
  chmodSync(join(bin, 'redis-cli'), 0o755)
  writeFileSync(join(dir, 'init.sh'), scripts['init.sh'])
  return {
    ...p,
    run (answers, env = {}) {
      writeFileSync(p.answers, Object.entries(answers).map(([h, a]) => `${h} ${a}\n`).join(''))
      const result = spawnSync('sh', [join(dir, 'init.sh')], {
        encoding: 'utf8',
        env: { PATH: `${bin}:${process.env.PATH}`, POD_NAME: `redis-${ordinal}`, POD_NAMESPACE: NS, DATA_DIR: p.data, CONF_DIR: p.conf, STUB_ANSWERS: p.answers, ...env }
      })
      assert.equal(result.status, 0, result.stderr)
      return { redis: readFileSync(join(p.conf, 'redis.conf'), 'utf8'), sentinel: readFileSync(join(p.data, 'sentinel', 'sentinel.conf'), 'utf8') }
    }
  }
}

test('first start of the set: redis-0 is master, the others replicate it', () => {
  const first = pod(0).run({})
  assert.doesNotMatch(first.redis, /replicaof/)
  assert.match(first.redis, new RegExp(`replica-announce-ip ${host(0)}`))
  assert.match(first.sentinel, new RegExp(`sentinel monitor mymaster ${host(0)} 6379 2`))
  const second = pod(1).run({})
  assert.match(second.redis, new RegExp(`^replicaof ${host(0)} 6379$`, 'm'))
  assert.match(second.sentinel, new RegExp(`sentinel announce-ip ${host(1)}`))
})

test('after a failover, a restarted redis-0 replicates the master the sentinels name', () => {
  const p = pod(0)
  p.run({}) // it was master once; its sentinel.conf remembers itself
  const restarted = p.run({ [host(1)]: host(2), [host(2)]: host(2) })
  assert.match(restarted.redis, new RegExp(`^replicaof ${host(2)} 6379$`, 'm'))
})

test('a pod the sentinels name as master stays master', () => {
  const again = pod(2).run({ [host(0)]: host(2) })
  assert.doesNotMatch(again.redis, /replicaof/)
})

test('a whole-set restart follows the master remembered in sentinel.conf, not redis-0', () => {
  const p = pod(0)
  mkdirSync(join(p.data, 'sentinel'), { recursive: true })
  writeFileSync(join(p.data, 'sentinel', 'sentinel.conf'), `port 26379\nsentinel monitor mymaster ${host(1)} 6379 2\n`)
  const restarted = p.run({})
  assert.match(restarted.redis, new RegExp(`^replicaof ${host(1)} 6379$`, 'm'))
  assert.match(restarted.sentinel, new RegExp(`sentinel monitor mymaster ${host(1)}`), 'the file is kept')
})

test('error replies and unreachable sentinels are skipped', () => {
  const started = pod(1).run({ [host(0)]: 'ERR No such master with that name', [host(2)]: host(2) })
  assert.match(started.redis, new RegExp(`^replicaof ${host(2)} 6379$`, 'm'))
})

test('a Redis password goes to requirepass, masterauth and auth-pass, once', () => {
  const p = pod(1)
  p.run({}, { REDIS_PASSWORD: 'old-password' })
  const conf = p.run({}, { REDIS_PASSWORD: 'new-password' })
  assert.match(conf.redis, /^requirepass new-password$/m)
  assert.match(conf.redis, /^masterauth new-password$/m)
  assert.equal(conf.sentinel.match(/sentinel auth-pass/g)?.length, 1)
  assert.match(conf.sentinel, /^sentinel auth-pass mymaster new-password$/m)
})

test('the written redis.conf and sentinel.conf load in a real redis-server and sentinel', async (t) => {
  if (spawnSync('redis-server', ['--version']).status !== 0) return t.diagnostic('redis-server not installed')
  const p = pod(0)
  p.run({ [host(1)]: '127.0.0.1' })
  const [redisPort, sentinelPort] = [await freePort(), await freePort()]
  const redis = await startServer([join(p.conf, 'redis.conf'), '--port', String(redisPort), '--bind', '127.0.0.1'], redisPort, t)
  const role = await redis.info('replication')
  assert.match(role, /role:slave/, 'replicaof 127.0.0.1 taken from the sentinel answer')
  assert.equal(await redis.config('GET', 'maxmemory-policy').then(r => (r as string[])[1]), 'noeviction')
  const sentinel = await startServer([join(p.data, 'sentinel', 'sentinel.conf'), '--sentinel', '--port', String(sentinelPort), '--bind', '127.0.0.1'], sentinelPort, t)
  const master = await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster') as string[]
  assert.deepEqual(master, ['127.0.0.1', '6379'])
})

async function startServer (args: string[], port: number, t: { after: (fn: () => unknown) => void }): Promise<Redis> {
  const child = spawn('redis-server', args, { stdio: 'ignore' })
  t.after(() => { child.kill('SIGKILL') })
  assert.ok(existsSync(args[0]!))
  await waitFor(() => listening(port), { timeoutMs: 5000, what: `redis-server on ${port}` })
  const client = new Redis({ host: '127.0.0.1', port })
  t.after(() => client.disconnect())
  return client
}

function listening (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}
