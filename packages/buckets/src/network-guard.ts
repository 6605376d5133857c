import { lookup as dnsLookup } from 'node:dns/promises'
import type { LookupAddress } from 'node:dns'
import { Agent as HttpAgent, type AgentOptions, type ClientRequestArgs } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import { isIP, type LookupFunction } from 'node:net'
import type { Duplex } from 'node:stream'
import type { NetworkPolicy } from './network-policy.ts'

/**
 * The one guard of every outgoing connection (API checks, webhook deliveries, token
 * requests, S3 scans). A name is checked where it is dialled: the socket's lookup resolves
 * it, and every address must be allowed, so a name that resolved to a public address when
 * it was added and to 169.254.169.254 later (DNS rebinding) is refused at connect time.
 */

/** Every address a host name resolves to. Injected in tests to resolve a name differently each time. */
export type Resolve = (host: string) => Promise<string[]>

export const systemResolve: Resolve = async host => (await dnsLookup(host, { all: true, verbatim: true })).map(a => a.address)

/** Builds the error a refused address fails a connection with (each service keeps its own error class). */
export type Refuse = (host: string, address: string) => Error

export interface GuardOptions { resolve?: Resolve, refuse?: Refuse }

export class AddressRefusedError extends Error {
  readonly code = 'ADDRESS_REFUSED'
  constructor (host: string, address: string) {
    super(`${host} resolves to ${address}, outside webhook.allowed_networks`)
    this.name = 'AddressRefusedError'
  }
}

const defaultRefuse: Refuse = (host, address) => new AddressRefusedError(host, address)

/** `[::1]` as a URL writes it, `::1` as sockets and the policy take it. */
export function bareHost (hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '')
}

/** The first address the policy refuses, if any. */
export function firstRefused (policy: NetworkPolicy, addresses: string[]): string | undefined {
  return addresses.find(a => !policy.isAllowedAddress(a))
}

/** For a host that is an IP literal (sockets never look those up): the literal when refused. */
export function refusedLiteral (hostname: string, policy: NetworkPolicy): string | undefined {
  const host = bareHost(hostname)
  return isIP(host) !== 0 && !policy.isAllowedAddress(host) ? host : undefined
}

/** Why a URL may not be reached, or undefined when every address of its host is allowed. */
export async function checkUrl (url: string, policy: NetworkPolicy, resolve: Resolve = systemResolve): Promise<string | undefined> {
  let host: string
  try { host = bareHost(new URL(url).hostname) } catch { return 'is not a valid URL' }
  if (host === '') return 'has no host'
  let addresses: string[]
  if (isIP(host) !== 0) addresses = [host]
  else {
    try { addresses = await resolve(host) } catch { return `host ${host} does not resolve` }
  }
  if (addresses.length === 0) return `host ${host} does not resolve`
  const refused = firstRefused(policy, addresses)
  return refused === undefined ? undefined : `resolves to ${refused}, a loopback, link-local or private address not listed in webhook.allowed_networks`
}

/** A socket `lookup` (net, http.Agent, undici) that connects only when every address is allowed. */
export function guardedLookup (policy: NetworkPolicy, { resolve = systemResolve, refuse = defaultRefuse }: GuardOptions = {}): LookupFunction {
  return (hostname, options, callback) => {
    const answer = callback as unknown as (err: Error | null, address: string | LookupAddress[], family?: number) => void
    resolve(hostname).then(addresses => {
      const refused = firstRefused(policy, addresses)
      if (refused !== undefined) return answer(refuse(hostname, refused), '', 4)
      const family = options.family === 6 || options.family === 'IPv6' ? 6 : options.family === 4 || options.family === 'IPv4' ? 4 : 0
      const usable = addresses.map(address => ({ address, family: isIP(address) })).filter(a => family === 0 || a.family === family)
      const first = usable[0]
      if (!first) return answer(Object.assign(new Error(`${hostname} does not resolve`), { code: 'ENOTFOUND' }), '', 4)
      if (options.all) answer(null, usable)
      else answer(null, first.address, first.family)
    }, (err: Error) => answer(err, '', 4))
  }
}

/**
 * node:http and node:https agents whose every connection goes through the guard: names via
 * the lookup, IP literals (which sockets never look up) checked before connecting.
 */
export function guardedAgents (policy: NetworkPolicy, opts: GuardOptions & AgentOptions = {}): { httpAgent: HttpAgent, httpsAgent: HttpsAgent } {
  const { resolve, refuse = defaultRefuse, ...agentOptions } = opts
  const options = { keepAlive: true, ...agentOptions, lookup: guardedLookup(policy, { resolve, refuse }) }
  return { httpAgent: checkLiterals(new HttpAgent(options), policy, refuse), httpsAgent: checkLiterals(new HttpsAgent(options), policy, refuse) }
}

type Connect = (options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void) => Duplex | null | undefined

// The agent hands a refusal to the request through createConnection's callback, as it does a connect error.
function checkLiterals<A extends { createConnection: Connect }> (agent: A, policy: NetworkPolicy, refuse: Refuse): A {
  const connect = agent.createConnection.bind(agent)
  agent.createConnection = (options, callback) => {
    const host = options.host ?? options.hostname ?? ''
    const refused = refusedLiteral(host, policy)
    if (refused === undefined) return connect(options, callback)
    const err = refuse(host, refused)
    if (!callback) throw err
    callback(err, undefined as unknown as Duplex)
    return undefined
  }
  return agent
}
