import { readFileSync } from 'node:fs'

// The Node.js major version the project runs on is stated once, in the root package.json's
// engines; a service started on an older node stops with one line instead of failing later
// in a dependency that needs a newer one.
const rootManifest = new URL('../../../package.json', import.meta.url)

/** Why this node cannot run the services, or undefined when it can. */
export function unsupportedNode (version: string = process.version): string | undefined {
  const engines = JSON.parse(readFileSync(rootManifest, 'utf8')).engines?.node as string | undefined
  const needed = Number(engines?.match(/\d+/)?.[0] ?? 0)
  if (Number(version.replace(/^v/, '').split('.')[0]) >= needed) return undefined
  return `Node.js ${needed} or newer is needed, this is ${version} (https://nodejs.org; the README's "Two commands" says how to get it)`
}
