// `net.connect` rules ("host:port" patterns) and the check every socket call site runs: first on
// the name the guest gave, then again on every address it resolves to, so a permitted name that
// resolves to a forbidden address (DNS rebinding, a hostname for 127.0.0.1) is still refused.
// Wildcards are for rules only ("*.example.com:443", "10.0.0.5:*"); requests are exact.
import net from 'node:net';

export class NetRuleError extends Error {}

export interface NetRule { host: string; port: number | '*'; text: string }

export function parseNetRule(text: string): NetRule {
  const m = /^(\[[^\]]+\]|[^\s:]+):(\d{1,5}|\*)$/.exec(text.trim());
  if (!m) throw new NetRuleError(`"${text}": expected HOST:PORT (e.g. api.example.com:443, 10.0.0.5:502, *.example.com:*)`);
  const host = normalizeHost(m[1]!.replace(/^\[|\]$/g, ''));
  if (host.includes('/')) throw new NetRuleError(`"${text}": address ranges are not supported, list addresses one by one`);
  if (host.includes('*') && !/^\*(\.[a-z0-9-]+)+$/.test(host) && host !== '*') {
    throw new NetRuleError(`"${text}": a wildcard may only stand for leading labels (*.example.com)`);
  }
  const port = m[2] === '*' ? '*' : Number(m[2]);
  if (port !== '*' && (port < 1 || port > 65535)) throw new NetRuleError(`"${text}": port ${port} out of range`);
  return { host, port, text };
}

/** Lower-cases names; unmaps IPv4-mapped IPv6 (::ffff:10.0.0.1 -> 10.0.0.1) so one rule covers both. */
export function normalizeHost(host: string): string {
  const h = host.toLowerCase().replace(/\.$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped ? mapped[1]! : h;
}

function hostMatches(rule: string, host: string): boolean {
  if (rule === '*') return true;
  if (rule.startsWith('*.')) return host.endsWith(rule.slice(1)) && host.length > rule.length - 1;
  return rule === host;
}

export function ruleAllows(rules: readonly NetRule[], host: string, port: number): NetRule | undefined {
  const h = normalizeHost(host);
  return rules.find((r) => hostMatches(r.host, h) && (r.port === '*' || r.port === port));
}

/**
 * Addresses no name rule can reach: only a rule naming the address itself can. By default
 * loopback, link-local (cloud metadata lives there), unspecified and multicast; operators add
 * their own (the plant LAN, another vendor's PLC) as CIDR ranges.
 */
export function protectedAddresses(extraCidrs: readonly string[] = []): net.BlockList {
  const list = new net.BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addSubnet('0.0.0.0', 8, 'ipv4');
  list.addSubnet('169.254.0.0', 16, 'ipv4');
  list.addSubnet('224.0.0.0', 3, 'ipv4');
  list.addAddress('::1', 'ipv6');
  list.addAddress('::', 'ipv6');
  list.addSubnet('fe80::', 10, 'ipv6');
  list.addSubnet('ff00::', 8, 'ipv6');
  for (const cidr of extraCidrs) {
    const [address, bits] = cidr.split('/');
    const family = net.isIPv6(address!) ? 'ipv6' : 'ipv4';
    if (!net.isIP(address!) || bits === undefined || !/^\d+$/.test(bits)) throw new NetRuleError(`"${cidr}": expected ADDRESS/PREFIX`);
    list.addSubnet(address!, Number(bits), family);
  }
  return list;
}

const DEFAULT_PROTECTED = protectedAddresses();

export function isProtectedAddress(address: string, protectedList: net.BlockList = DEFAULT_PROTECTED): boolean {
  const a = normalizeHost(address);
  const family = net.isIPv6(a) ? 'ipv6' : net.isIPv4(a) ? 'ipv4' : undefined;
  return family !== undefined && protectedList.check(a, family);
}

export type Resolver = (host: string) => Promise<string[]>;

export interface ConnectDecision { allowed: boolean; reason: string; addresses: string[] }

/**
 * Decides a connect(host, port) against the rules. A literal address must be allowed as such. A
 * name must be allowed, and then every address it resolves to must be either allowed by a rule of
 * its own or outside the protected ranges.
 */
export async function checkConnect(rules: readonly NetRule[], host: string, port: number, resolve: Resolver,
  protectedList: net.BlockList = DEFAULT_PROTECTED): Promise<ConnectDecision> {
  const h = normalizeHost(host);
  const named = ruleAllows(rules, h, port);
  if (!named) return { allowed: false, reason: `${h}:${port} matches no net.connect rule`, addresses: [] };
  // A literal address is checked like a resolved one: a wildcard rule never reaches a protected address.
  const addresses = net.isIP(h) ? [h] : (await resolve(h)).map(normalizeHost);
  if (addresses.length === 0) return { allowed: false, reason: `${h} does not resolve`, addresses };
  for (const a of addresses) {
    const explicit = rules.find((r) => r.host === a && (r.port === '*' || r.port === port));
    if (!explicit && isProtectedAddress(a, protectedList)) {
      return { allowed: false, reason: a === h ? `${a} is a protected address no rule names` : `${h} resolves to ${a}, a protected address no rule grants`, addresses };
    }
  }
  return { allowed: true, reason: `allowed by "${named.text}"`, addresses };
}
