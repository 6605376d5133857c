// Container images built with buildah and run with podman, as test/images.test.ts needs them.
// No image can be pulled here, so the Dockerfiles' base image is made locally: a Debian root
// filesystem (debootstrap) with this test run's own node, npm and npx, a `node` user of uid 1000,
// imported under the exact name the Dockerfiles' FROM names.
import { execFile, execFileSync } from 'node:child_process'
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'wf-images-'))
/** The machines refuse setrlimit, and crun fails on their hybrid cgroups: no default ulimits, runc. */
const CONTAINERS_CONF = join(dir, 'containers.conf')
writeFileSync(CONTAINERS_CONF, '[containers]\ndefault_ulimits = []\n')
const env = { ...process.env, CONTAINERS_CONF }

export async function podman (...args: string[]): Promise<string> {
  return (await run('podman', ['--runtime', 'runc', ...args], { env, maxBuffer: 64 << 20 })).stdout.trim()
}

/** What a container wrote to stdout and stderr. */
export async function containerOutput (name: string): Promise<string> {
  const { stdout, stderr } = await run('podman', ['logs', name], { env, maxBuffer: 64 << 20 }).catch(err => err)
  return `${stdout ?? ''}${stderr ?? ''}`
}

/** The base image named by a Dockerfile's `ARG NODE_IMAGE=` default. */
export function baseImageOf (dockerfile: string): string {
  const match = readFileSync(dockerfile, 'utf8').match(/^ARG NODE_IMAGE=(\S+)$/m)
  if (!match) throw new Error(`${dockerfile} names no NODE_IMAGE`)
  return match[1]!
}

/** Makes the base image unless podman has it already (from an earlier run on this machine). */
export async function ensureBaseImage (name: string): Promise<void> {
  if (await podman('image', 'exists', name).then(() => true, () => false)) return
  const root = join(dir, 'rootfs')
  await run('debootstrap', ['--variant=minbase', 'bookworm', root], { maxBuffer: 64 << 20 })
  copyFileSync(process.execPath, join(root, 'usr/local/bin/node'))
  const npmRoot = dirname(dirname(realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim())))
  cpSync(npmRoot, join(root, 'usr/local/lib/node_modules/npm'), { recursive: true })
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/local/bin/npm'))
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(root, 'usr/local/bin/npx'))
  // npm ci inside a build reaches the registry through this machine's TLS proxy: trust its CA.
  mkdirSync(join(root, 'etc/ssl/certs'), { recursive: true })
  copyFileSync(process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt', join(root, 'etc/ssl/certs/extra-ca.crt'))
  execFileSync('chroot', [root, '/usr/sbin/groupadd', '-g', '1000', 'node'])
  execFileSync('chroot', [root, '/usr/sbin/useradd', '-u', '1000', '-g', '1000', '-m', '-s', '/bin/sh', 'node'])
  const tar = join(dir, 'base.tar')
  execFileSync('tar', ['-C', root, '-cf', tar, '.'])
  rmSync(root, { recursive: true, force: true })
  await podman('import', '--change', 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin',
    '--change', 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/extra-ca.crt', tar, name)
  rmSync(tar, { force: true })
}

/** buildah bud of a Dockerfile as it is, with no pull: the base image must be local. */
export async function buildImage (dockerfile: string, tag: string, context: string): Promise<void> {
  await run('buildah', ['bud', '--isolation', 'chroot', '--network', 'host', '--pull-never', '--format', 'docker', '-f', dockerfile, '-t', tag, context],
    { env, cwd: context, maxBuffer: 64 << 20 })
}

/** Sizes in bytes: the whole image, and the layers the Dockerfile added on top of its base. */
export async function imageSizes (tag: string, base: string): Promise<{ total: number, app: number }> {
  const total = Number(await podman('image', 'inspect', '--format', '{{.Size}}', tag))
  const baseSize = Number(await podman('image', 'inspect', '--format', '{{.Size}}', base))
  return { total, app: total - baseSize }
}

export function removeScratch (): void {
  rmSync(dir, { recursive: true, force: true })
}
