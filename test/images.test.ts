// The images a user deploys, built and run here: buildah builds Dockerfile.monitor and
// Dockerfile.consumer unchanged (no pull: the base image is made locally), and podman runs
// both as the Deployments do (read-only root, a writable /tmp, the config mounted read-only,
// uid 1000, no capabilities, the same env names) on the host network against a loopback
// Redis, S3 server and receiver: an upload becomes a delivered webhook, /ready answers, and
// SIGTERM ends each within SHUTDOWN_TIMEOUT_MS with exit code 0.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { startRedis } from './support/redis-server.ts'
import { startFakeS3 } from './support/fake-s3.ts'
import { startReceiver } from './support/receiver.ts'
import { freePort, waitFor } from './support/ports.ts'
import { baseImageOf, buildImage, containerOutput, ensureBaseImage, imageSizes, podman, removeScratch } from './support/images.ts'
import { ROOT, readDocuments } from './k8s-support.ts'

const SERVICES = ['monitor', 'consumer'] as const
const SHUTDOWN_TIMEOUT_MS = 5000
const MB = 1024 * 1024
const tag = (svc: string) => `localhost/watch-folder-${svc}:test`
const deploymentEnv = (svc: string) => new Set<string>(readDocuments(join(ROOT, `k8s/base/${svc}/deployment.yaml`))
  .find(d => d.kind === 'Deployment')!.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name))

async function runContainer (svc: string, configDir: string, env: Record<string, string>, started: string[]) {
  for (const name of Object.keys(env)) assert.ok(deploymentEnv(svc).has(name), `the ${svc} Deployment sets ${name}`)
  const name = `wf-${svc}-${randomBytes(3).toString('hex')}`
  const startedAt = Date.now()
  // Kubernetes probes the pods; the image's HEALTHCHECK (for docker run) would need systemd here.
  await podman('run', '-d', '--no-healthcheck', '--name', name, '--network', 'host', '--read-only', '--tmpfs', '/tmp', '--user', '1000:1000',
    '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '-v', `${configDir}:/app/config:ro`,
    ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), tag(svc))
  started.push(name)
  const ready = `http://127.0.0.1:${env.HTTP_PORT}/ready`
  try {
    await waitFor(async () => {
      if (await podman('inspect', '--format', '{{.State.Running}}', name) !== 'true') throw new Error(`the ${svc} container exited`)
      return (await fetch(ready).catch(() => undefined))?.status === 200
    }, { timeoutMs: 60_000, everyMs: 100, what: `${svc} container /ready` })
  } catch (err) {
    throw new Error(`${(err as Error).message}; its output:\n${await containerOutput(name)}`)
  }
  return { name, readyMs: Date.now() - startedAt }
}

const procStatus = async (container: string, field: string) =>
  (await podman('exec', container, 'cat', '/proc/1/status')).split('\n').find(l => l.startsWith(`${field}:`))!.split(/\s+/).slice(1)

test('both images build from their Dockerfiles and run the pipeline under podman', { timeout: 600_000 }, async (t) => {
  const base = baseImageOf(join(ROOT, 'Dockerfile.monitor'))
  assert.equal(baseImageOf(join(ROOT, 'Dockerfile.consumer')), base)
  await ensureBaseImage(base)
  const containers: string[] = []
  const dir = mkdtempSync(join(tmpdir(), 'wf-image-config-'))
  t.after(async () => {
    for (const c of containers) await podman('rm', '-f', c).catch(() => {})
    for (const svc of SERVICES) await podman('rmi', '-f', tag(svc)).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
    removeScratch()
  })
  for (const svc of SERVICES) {
    await buildImage(`Dockerfile.${svc}`, tag(svc), ROOT)
    const { total, app } = await imageSizes(tag(svc), base)
    t.diagnostic(`${svc} image: ${(total / MB).toFixed(0)} MB, application layers ${(app / MB).toFixed(1)} MB`)
    assert.ok(app < 60 * MB, `${svc} application layers under 60 MB`)
    const listing = await podman('run', '--rm', '--entrypoint', 'sh', tag(svc), '-c', 'ls -a /app /app/node_modules')
    for (const kept of ['.git', 'test', '.env', 'tsx', 'typescript', 'esbuild']) assert.ok(!listing.split(/\s+/).includes(kept), `${kept} is not in the ${svc} image`)
  }

  const redis = await startRedis()
  const s3 = await startFakeS3()
  const receiver = await startReceiver()
  t.after(async () => { await receiver.close(); await s3.close(); await redis.stop() })
  s3.createBucket('image-bucket')
  chmodSync(dir, 0o755) // mounted as a ConfigMap is: readable by the container's user
  writeFileSync(join(dir, 'config.yaml'), stringify({
    defaults: { polling_interval: 1 },
    redis: { host: '127.0.0.1', port: redis.port },
    webhook: { allowed_networks: ['127.0.0.0/8'] },
    buckets: [{ name: 'image-bucket', endpoint: s3.endpoint, access_key: 'image-access', secret_key: 'image-secret-key', webhook_url: receiver.url }]
  }))
  const common = { CONFIG_PATH: '/app/config/config.yaml', LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS), SECRETS_KEY: randomBytes(32).toString('base64') }
  const monitor = await runContainer('monitor', dir, {
    ...common, HTTP_PORT: String(await freePort()), JWT_SECRET: randomBytes(32).toString('base64'), API_CLIENT_ID: 'image-test', API_CLIENT_SECRET: randomBytes(16).toString('hex')
  }, containers)
  const consumer = await runContainer('consumer', dir, { ...common, HTTP_PORT: String(await freePort()) }, containers)
  t.diagnostic(`podman run to /ready: monitor ${monitor.readyMs} ms, consumer ${consumer.readyMs} ms`)

  const uploadedAt = Date.now()
  s3.put('image-bucket', 'uploads/through-containers.dat', 'hello from the images')
  await waitFor(() => receiver.requests.some(r => r.json?.key === 'uploads/through-containers.dat' && r.json?.event_type === 'created'),
    { timeoutMs: 30_000, everyMs: 50, what: 'the webhook of the upload' })
  t.diagnostic(`upload to webhook through the two containers: ${Date.now() - uploadedAt} ms`)

  for (const c of [monitor.name, consumer.name]) {
    assert.deepEqual((await procStatus(c, 'Uid')).slice(0, 2), ['1000', '1000'], `${c} runs as uid 1000`)
    t.diagnostic(`${c} idle RSS: ${(Number((await procStatus(c, 'VmRSS'))[0]) / 1024).toFixed(0)} MB`)
    const stopAt = Date.now()
    await podman('stop', '-t', '10', c)
    const stoppedMs = Date.now() - stopAt
    assert.equal(await podman('inspect', '--format', '{{.State.ExitCode}}', c), '0', `${c} exits 0 on SIGTERM`)
    assert.ok(stoppedMs < SHUTDOWN_TIMEOUT_MS, `${c} stopped in ${stoppedMs} ms`)
    t.diagnostic(`${c} SIGTERM to exit: ${stoppedMs} ms`)
  }
})
