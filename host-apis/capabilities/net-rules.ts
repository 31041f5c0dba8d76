// `net.connect` rules ("host:port" patterns) and the check every socket call site runs on the
// canonical address the socket is then connected to (and the name, if the guest gave one, that
// this host resolved to it). Wildcards are for rules only ("*.example.com:443", "*:502").
//
// Protected addresses (protected-addresses.ts: loopback, link-local, metadata, the device's own
// addresses, and every embedding and numeric form of them) are reachable only through a rule whose
// operator side names them: the literal address, or `localhost` for loopback. A rule that came out
// of intersecting the operator's "*:502" with a manifest's "127.0.0.1:*" reads "127.0.0.1:502",
// but its operator side is "*", which names nothing; it never reaches 127.0.0.1.
import { canonicalHost, parseIpAddress } from '../net/ip-address.js';
import { isLoopbackName, ProtectedAddresses, type AddressClass } from '../net/protected-addresses.js';

export class NetRuleError extends Error {}

export interface NetRule {
  host: string;
  port: number | '*';
  text: string;
  /**
   * The host of the operator's rule this one came from (a grant is an intersection; see
   * grant.ts). Absent: the rule is the operator's own as written.
   */
  operatorHost?: string;
}

export function parseNetRule(text: string): NetRule {
  const m = /^(\[[^\]]+\]|[^\s:]+):(\d{1,5}|\*)$/.exec(text.trim());
  if (!m) throw new NetRuleError(`"${text}": expected HOST:PORT (e.g. api.example.com:443, 10.0.0.5:502, *.example.com:*)`);
  const host = normalizeHost(m[1]!);
  if (host.includes('/')) throw new NetRuleError(`"${text}": address ranges are not supported, list addresses one by one`);
  if (host.includes('*') && !/^\*(\.[a-z0-9-]+)+$/.test(host) && host !== '*') {
    throw new NetRuleError(`"${text}": a wildcard may only stand for leading labels (*.example.com)`);
  }
  if (m[1]!.startsWith('[') && !parseIpAddress(host)) throw new NetRuleError(`"${text}": ${m[1]} is not an IPv6 address`);
  const port = m[2] === '*' ? '*' : Number(m[2]);
  if (port !== '*' && (port < 1 || port > 65535)) throw new NetRuleError(`"${text}": port ${port} out of range`);
  return { host, port, text };
}

/**
 * Canonical host: an address in any form (shorthand IPv4, bracketed or mapped IPv6) becomes its
 * one canonical text (2130706433 -> 127.0.0.1, ::ffff:10.0.0.1 -> 10.0.0.1); names are
 * lower-cased without a trailing dot.
 */
export function normalizeHost(host: string): string {
  return canonicalHost(host);
}

function hostMatches(rule: string, host: string): boolean {
  if (rule === '*') return true;
  if (rule.startsWith('*.')) return host.endsWith(rule.slice(1)) && host.length > rule.length - 1;
  return rule === host;
}

/** The first rule matching host and port; port '*' asks whether any port of the host is allowed. */
export function ruleAllows(rules: readonly NetRule[], host: string, port: number | '*'): NetRule | undefined {
  const h = normalizeHost(host);
  return rules.find((r) => hostMatches(r.host, h) && (r.port === '*' || port === '*' || r.port === port));
}

/** Whether the operator's side of `rule` names the protected address `c`, reached via `name`. */
function operatorNames(rule: NetRule, c: AddressClass, name: string | undefined): boolean {
  const operatorHost = rule.operatorHost ?? rule.host;
  if (operatorHost === c.address.text && rule.host === c.address.text) return true;
  // "localhost" always means loopback; the operator writing it names loopback, nothing else.
  return name !== undefined && c.kind === 'loopback' && !c.embedded && operatorHost === name && rule.host === name && isLoopbackName(name);
}

export const DEFAULT_PROTECTED = new ProtectedAddresses();

/** The operator's own protected ranges on top of the defaults. */
export function protectedAddresses(extraCidrs: readonly string[] = []): ProtectedAddresses {
  try {
    return new ProtectedAddresses(extraCidrs);
  } catch (err) {
    throw new NetRuleError((err as Error).message);
  }
}

export function isProtectedAddress(address: string, protect: ProtectedAddresses = DEFAULT_PROTECTED): boolean {
  return protect.classify(address)?.kind !== undefined;
}

export interface AddressDecision {
  allowed: boolean;
  reason: string;
  /** The canonical address: the one to connect to. */
  address: string;
  /** Whether some rule matched (false: no rule at all; true but not allowed: a protected address). */
  matched: boolean;
}

/**
 * Decides whether the address `address` (any form; it is canonicalised) may be connected to on
 * `port` ('*': on some port), reached directly or through one of `viaNames` (names this host
 * resolved to it for the guest). The caller then connects to `decision.address` and nothing else.
 */
export function decideAddress(rules: readonly NetRule[], address: string, port: number | '*', viaNames: Iterable<string> = [],
  protect: ProtectedAddresses = DEFAULT_PROTECTED): AddressDecision {
  const c = protect.classify(address);
  if (!c) return { allowed: false, reason: `${address} is not an IP address`, address, matched: false };
  const a = c.address.text;
  const where = port === '*' ? a : `${a}:${port}`;
  const routes: { rule: NetRule; name?: string }[] = [];
  const direct = rules.filter((r) => ruleAllows([r], a, port));
  routes.push(...direct.map((rule) => ({ rule })));
  for (const name of viaNames) routes.push(...rules.filter((r) => ruleAllows([r], name, port)).map((rule) => ({ rule, name })));
  if (routes.length === 0) return { allowed: false, reason: `${where} matches no net.connect rule`, address: a, matched: false };
  if (!c.kind) return { allowed: true, reason: `allowed by "${routes[0]!.rule.text}"`, address: a, matched: true };
  const named = routes.find((r) => operatorNames(r.rule, c, r.name));
  if (named) return { allowed: true, reason: `allowed by "${named.rule.text}", which the operator wrote for this protected address`, address: a, matched: true };
  const via = routes.find((r) => r.name !== undefined)?.name;
  const what = `a protected address (${ProtectedAddresses.describe(c)})`;
  return {
    allowed: false,
    reason: `${via ? `${via} resolves to ${a}, ` : `${a} is `}${what} that no operator rule names; `
      + `only a policy netConnect entry naming it (e.g. "${a.includes(':') ? `[${a}]` : a}:${port === '*' ? 'PORT' : port}") grants it`,
    address: a,
    matched: true,
  };
}

export type Resolver = (host: string) => Promise<string[]>;

/** `addresses`: empty when no rule matched the host; else the canonical addresses checked. */
export interface ConnectDecision { allowed: boolean; reason: string; addresses: string[] }

/**
 * Decides a connect(host, port) as HTTP does it: a literal address (any form) is decided as such;
 * a name must match a rule, is resolved once, and every address it resolves to must be allowed
 * (decideAddress, via that name). `addresses` are the canonical addresses to connect to: pin the
 * connection to them, never resolve again.
 */
export async function checkConnect(rules: readonly NetRule[], host: string, port: number, resolve: Resolver,
  protect: ProtectedAddresses = DEFAULT_PROTECTED): Promise<ConnectDecision> {
  const h = normalizeHost(host);
  if (parseIpAddress(h)) {
    const d = decideAddress(rules, h, port, [], protect);
    return { allowed: d.allowed, reason: d.reason, addresses: d.matched ? [d.address] : [] };
  }
  const named = ruleAllows(rules, h, port);
  if (!named) return { allowed: false, reason: `${h}:${port} matches no net.connect rule`, addresses: [] };
  const addresses: string[] = [];
  for (const resolved of await resolve(h)) {
    const d = decideAddress(rules, resolved, port, [h], protect);
    addresses.push(d.address);
    if (!d.allowed) return { allowed: false, reason: d.reason, addresses };
  }
  if (addresses.length === 0) return { allowed: false, reason: `${h} does not resolve`, addresses };
  return { allowed: true, reason: `allowed by "${named.text}"`, addresses };
}
