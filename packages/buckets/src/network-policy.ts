import { BlockList, isIP } from 'node:net'

/**
 * Addresses a webhook, token URL or endpoint may not reach unless their network is listed in
 * `webhook.allowed_networks`: loopback, link-local (169.254.0.0/16, the cloud metadata
 * address), private ranges, and their IPv6 counterparts. 6to4 (2002::/16) and Teredo
 * (2001::/32) embed an IPv4 address a relay may deliver to, and fec0::/10 is the deprecated
 * site-local range some networks still route internally.
 */
const BLOCKED: Array<[string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'], ['10.0.0.0', 8, 'ipv4'], ['100.64.0.0', 10, 'ipv4'], ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'], ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'], ['::1', 128, 'ipv6'], ['::', 96, 'ipv6'], ['64:ff9b::', 96, 'ipv6'], ['64:ff9b:1::', 48, 'ipv6'], ['fc00::', 7, 'ipv6'], ['fe80::', 10, 'ipv6'], ['ff00::', 8, 'ipv6'],
  ['2002::', 16, 'ipv6'], ['2001::', 32, 'ipv6'], ['fec0::', 10, 'ipv6']
]

export interface NetworkPolicy {
  /** True when the literal IP address may be contacted. */
  isAllowedAddress (ip: string): boolean
}

/** Parses `allowed_networks` CIDRs; throws with the bad entry named. */
export function createNetworkPolicy (allowedNetworks: string[]): NetworkPolicy {
  const blocked = new BlockList()
  for (const [net, prefix, type] of BLOCKED) blocked.addSubnet(net, prefix, type)
  const allowed = new BlockList()
  for (const cidr of allowedNetworks) {
    const [net = '', bits] = cidr.split('/')
    const type = isIP(net) === 6 ? 'ipv6' : isIP(net) === 4 ? 'ipv4' : undefined
    const prefix = bits === undefined ? (type === 'ipv6' ? 128 : 32) : Number(bits)
    if (!type || !Number.isInteger(prefix) || prefix < 0 || prefix > (type === 'ipv6' ? 128 : 32)) {
      throw new Error(`webhook.allowed_networks: "${cidr}" is not a CIDR`)
    }
    allowed.addSubnet(net, prefix, type)
  }
  return {
    isAllowedAddress (ip) {
      const unmapped = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip
      const type = isIP(unmapped) === 6 ? 'ipv6' : 'ipv4'
      if (allowed.check(unmapped, type)) return true
      return !blocked.check(unmapped, type)
    }
  }
}
