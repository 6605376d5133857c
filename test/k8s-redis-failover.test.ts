// A failover of the Redis StatefulSet, end to end: three Redis "pods" with their sentinels, started from
// the files the StatefulSet's init.sh writes and reached by their Kubernetes DNS names (a
// private /etc/hosts in a mount namespace maps them to 127.0.0.2-4). The master pod is killed,
// Sentinel promotes a replica, the pod restarts through init.sh: it must come back as a
// replica of the new master, never as a second master. The scenario is k8s-redis-failover.sh.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { K8S, ROOT, find, renderKustomization } from './k8s-support.ts'

const pod = (i: number) => `redis-${i}.redis.object-monitor.svc.cluster.local`

test('a restarted master pod rejoins as a replica of the master Sentinel elected', { timeout: 120_000 }, (t) => {
  const work = mkdtempSync(join(tmpdir(), 'redis-failover-'))
  t.after(() => rmSync(work, { recursive: true, force: true }))
  if (spawnSync('unshare', ['--mount', 'true']).status !== 0) return t.diagnostic('unshare --mount not permitted here: nothing checked')
  const init = join(work, 'init.sh')
  writeFileSync(init, find(renderKustomization(K8S), 'ConfigMap', 'redis-scripts')!.data['init.sh'])

  const run = spawnSync('unshare', ['--mount', 'bash', join(ROOT, 'test/k8s-redis-failover.sh'), work, init], { encoding: 'utf8', timeout: 110_000 })
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`)
  const seen = JSON.parse(run.stdout.trim().split('\n').at(-1)!)
  assert.equal(seen.firstMaster, pod(0), 'first start: redis-0 is master')
  assert.ok([pod(1), pod(2)].includes(seen.newMaster), 'Sentinel promoted a replica, by host name')
  assert.equal(seen.restartedRole, 'slave')
  assert.equal(seen.restartedMasterHost, seen.newMaster)
  assert.equal(seen.restartedSentinelSees, seen.newMaster)
  assert.equal(seen.masters, 1, 'one master only')
  assert.equal(seen.keys, 'yes yes', 'writes from before and after the failover are on the restarted pod')
})
