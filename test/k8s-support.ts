// Offline rendering and validation of the k8s/ manifests for the k8s-*.test.ts files.
// kubectl (and its kustomize) is not on a fresh CI machine, so this renders a kustomization
// itself: resources, namespace, images, configMapGenerator and `$patch: delete` patches,
// the features k8s/ uses. Where kubectl exists, a test checks both renderings agree.
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync, statSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createRequire } from 'node:module'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { loadConfig } from '@internal/config'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const K8S = join(ROOT, 'k8s')

export interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string, namespace?: string, labels?: Record<string, string>, annotations?: Record<string, string> }
  [field: string]: any
}

/** Kinds that have no namespace (kustomize's namespace transformer leaves them alone). */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass'])

/** YAML 1.1, as the API server reads it: `0555` is octal, as in a volume's defaultMode. */
export function readDocuments (file: string): K8sObject[] {
  return parseYamlDocuments(readFileSync(file, 'utf8'), file)
}

export function parseYamlDocuments (text: string, origin: string): K8sObject[] {
  return parseAllDocuments(text, { version: '1.1' }).flatMap(doc => {
    if (doc.errors.length > 0) throw new Error(`${origin}: ${doc.errors[0]!.message}`)
    const value = doc.toJS({ maxAliasCount: -1 })
    return value === null || value === undefined ? [] : [value as K8sObject]
  })
}

export function objectKey (o: K8sObject): string {
  return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`
}

/** Renders the kustomization in `dir` the way `kubectl kustomize dir` does, for the features k8s/ uses. */
export function renderKustomization (dir: string): K8sObject[] {
  const k = readDocuments(join(dir, 'kustomization.yaml'))[0] ?? {} as any
  let objects: K8sObject[] = []
  for (const entry of k.resources ?? []) {
    const path = resolve(dir, entry)
    objects.push(...(statSync(path).isDirectory() ? renderKustomization(path) : readDocuments(path)))
  }
  for (const generator of k.configMapGenerator ?? []) objects.push(generateConfigMap(dir, generator, k.generatorOptions))
  for (const patch of k.patches ?? []) objects = applyDeletePatch(objects, patch, dir)
  if (k.images) objects.forEach(o => setImages(o, k.images))
  if (k.namespace) objects.forEach(o => { if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace })
  return objects
}

function generateConfigMap (dir: string, g: any, options: any): K8sObject {
  if (options?.disableNameSuffixHash !== true) throw new Error(`${dir}: configMapGenerator without disableNameSuffixHash is not supported here`)
  const data: Record<string, string> = {}
  for (const spec of g.files ?? []) {
    const [key, file] = String(spec).includes('=') ? String(spec).split('=') as [string, string] : [basename(spec), spec]
    data[key] = readFileSync(resolve(dir, file), 'utf8')
  }
  for (const literal of g.literals ?? []) {
    const at = String(literal).indexOf('=')
    data[literal.slice(0, at)] = literal.slice(at + 1)
  }
  const labels = { ...options?.labels, ...g.options?.labels }
  const metadata: K8sObject['metadata'] = { name: g.name, ...(g.namespace && { namespace: g.namespace }) }
  if (Object.keys(labels).length > 0) metadata.labels = labels
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata, data }
}

function applyDeletePatch (objects: K8sObject[], patch: any, dir: string): K8sObject[] {
  const body = patch.patch !== undefined ? parseYamlDocuments(patch.patch, dir)[0] : undefined
  if (body?.$patch !== 'delete') throw new Error(`${dir}: only "$patch: delete" patches are supported here`)
  return objects.filter(o => !(o.kind === body.kind && o.metadata.name === body.metadata.name))
}

function setImages (o: K8sObject, images: Array<{ name: string, newName?: string, newTag?: string }>): void {
  for (const container of podContainers(o)) {
    const image = images.find(i => imageName(container.image) === i.name)
    if (!image) continue
    const tag = image.newTag ?? imageTag(container.image)
    container.image = `${image.newName ?? image.name}${tag ? `:${tag}` : ''}`
  }
}

function imageName (image: string): string {
  const slash = image.lastIndexOf('/')
  const colon = image.lastIndexOf(':')
  return colon > slash ? image.slice(0, colon) : image
}

function imageTag (image: string): string | undefined {
  const name = imageName(image)
  return name.length < image.length ? image.slice(name.length + 1) : undefined
}

/** The pod template of a workload, if it has one. */
export function podSpec (o: K8sObject): any {
  return o.spec?.template?.spec
}

export function podContainers (o: K8sObject): any[] {
  const spec = podSpec(o)
  return spec ? [...(spec.initContainers ?? []), ...(spec.containers ?? [])] : []
}

/** `kubectl kustomize dir`, or undefined when kubectl is not installed. */
export function kubectlKustomize (dir: string): K8sObject[] | undefined {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' })
  } catch {
    return undefined
  }
  return parseYamlDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' }), `kubectl kustomize ${dir}`)
}

const require = createRequire(import.meta.url)

/** The kubernetes-models class of a built-in kind, or undefined for a custom resource. */
export function builtInModel (apiVersion: string, kind: string): (new (data: unknown) => { validate(): void }) | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : [undefined, apiVersion]
  const path = group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`
  try {
    return require(path)[kind]
  } catch {
    return undefined
  }
}

/** Every kustomization directory under k8s/: the base entry point and each overlay. */
export function kustomizationDirs (): string[] {
  const overlays = join(K8S, 'overlays')
  const names = existsSync(overlays) ? readdirSync(overlays) : []
  return [K8S, join(K8S, 'base'), ...names.map(n => join(overlays, n))]
    .filter(dir => existsSync(join(dir, 'kustomization.yaml')))
}

export function find (objects: K8sObject[], kind: string, name: string): K8sObject | undefined {
  return objects.find(o => o.kind === kind && o.metadata.name === name)
}

/** True when every label of `selector` is on `labels`. */
export function matches (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v)
}

/** Runtime variables read by node or a library rather than by our config schemas. */
export const RUNTIME_ENV = new Set(['NODE_ENV', 'NODE_OPTIONS', 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'])

/**
 * Every environment variable the services read: the keys of BaseEnv, of every zod object
 * exported by services/<svc>/src/config.ts, and of every `interface ...Env` in the source
 * (SecretStoreEnv is one).
 */
export async function envNamesReadByServices (): Promise<Set<string>> {
  const { BaseEnv } = await import('@internal/config')
  const names = new Set<string>(Object.keys(BaseEnv.shape))
  for (const service of ['monitor', 'consumer']) {
    const file = join(ROOT, 'services', service, 'src', 'config.ts')
    if (!existsSync(file)) continue
    const module = await import(pathToFileURL(file).href) as Record<string, unknown>
    for (const value of Object.values(module)) {
      const shape = (value as { shape?: unknown } | null)?.shape
      if (shape && typeof shape === 'object') Object.keys(shape).forEach(k => names.add(k))
    }
  }
  for (const file of sourceFiles()) {
    for (const block of readFileSync(file, 'utf8').matchAll(/interface \w*Env\b[^{]*\{([^}]*)\}/g)) {
      for (const field of block[1]!.matchAll(/^\s*([A-Z][A-Z0-9_]+)\??:/gm)) names.add(field[1]!)
    }
  }
  return names
}

/** The TypeScript source of every workspace package and service (not their tests). */
export function sourceFiles (): string[] {
  const roots = ['packages', 'services'].flatMap(top => readdirSync(join(ROOT, top)).map(name => join(ROOT, top, name, 'src')))
  return roots.filter(existsSync).flatMap(walk).filter(f => f.endsWith('.ts'))
}

function walk (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)])
}

/** The literal `value`s of a container's env, by name. */
export function literalEnv (container: any): Record<string, string> {
  return Object.fromEntries(container.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]))
}

export function exampleSecrets (): K8sObject[] {
  return readDocuments(join(K8S, 'secrets.yaml.example'))
}

/** Loads the ConfigMap's config.yaml with loadConfig, as the services do at start. */
export function loadK8sConfig () {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-config-'))
  try {
    const file = join(dir, 'config.yaml')
    writeFileSync(file, find(renderKustomization(K8S), 'ConfigMap', 'watch-folder-config')!.data['config.yaml'])
    return loadConfig({ CONFIG_PATH: file }, { defaultHttpPort: 8080 })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
