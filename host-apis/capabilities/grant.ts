// A vendor app's effective grant: what its manifest requests, intersected with what the operator's
// policy allows that vendor. Anything requested but not allowed is denied, and each denial names
// the request and the policy entry that would allow it, so operators and vendors can act on it.
import path from 'node:path';
import type { DirectoryHandle } from './directory-handle.js';
import { DEFAULT_PROTECTED, parseNetRule, type NetRule } from './net-rules.js';
import { isLoopbackName, ProtectedAddresses } from '../net/protected-addresses.js';

function hostIntersection(a: string, b: string): string | undefined {
  const covers = (w: string, h: string) => w === '*' || w === h || (w.startsWith('*.') && h.endsWith(w.slice(1)) && h.length > w.length - 1);
  if (covers(a, b)) return b;
  if (covers(b, a)) return a;
  return undefined;
}

/**
 * What two net rules both allow, as one rule (their patterns nest or are disjoint): a request for
 * "127.0.0.1:*" under an operator rule "127.0.0.1:8080" is granted "127.0.0.1:8080". The result
 * remembers the operator's host: only that decides whether a protected address is named.
 */
function netRuleIntersection(operator: NetRule, wanted: NetRule): NetRule | undefined {
  const host = hostIntersection(operator.host, wanted.host);
  const port = operator.port === '*' ? wanted.port : wanted.port === '*' || wanted.port === operator.port ? operator.port : undefined;
  if (host === undefined || port === undefined) return undefined;
  return { host, port, text: `${host}:${port}`, operatorHost: operator.host };
}

/**
 * Why a granted rule's host may not be granted although the patterns intersect: it is a protected
 * address (or `localhost`) that the operator's side did not name, only matched with a wildcard.
 * Granting it would let the manifest, not the operator, decide to reach the device itself.
 */
function protectedUnnamed(rule: NetRule, protect: ProtectedAddresses): string | undefined {
  if (rule.operatorHost === rule.host) return undefined;
  if (isLoopbackName(rule.host)) return `${rule.host} is this device (loopback)`;
  const c = protect.classify(rule.host);
  return c?.kind ? `${c.address.text} is a protected address (${ProtectedAddresses.describe(c)})` : undefined;
}

export interface CapabilityRequest {
  fs?: { guest: string; path: string; mode?: 'ro' | 'rw' }[];
  net?: { connect?: string[]; listen?: number[] };
  kv?: { namespace?: string; quota?: string };
  messaging?: { publish?: string[]; subscribe?: string[] };
  env?: Record<string, string>;
}

export interface OperatorGrantPolicy {
  /** The vendor's data root; fs grants are directories inside it. */
  dataRoot: string;
  fsWritable: boolean;
  netConnect: string[];
  netListen: { from: number; to: number };
  kvQuotaBytes: number;
  publish: string[];
  subscribe: string[];
  env: string[];
}

/** Deny-all defaults: a vendor the operator has not configured gets nothing but its data root. */
export function denyAllPolicy(dataRoot: string): OperatorGrantPolicy {
  return { dataRoot, fsWritable: false, netConnect: [], netListen: { from: 0, to: -1 }, kvQuotaBytes: 0, publish: [], subscribe: [], env: [] };
}

/**
 * One granted directory. `hostPath` is for people (messages, audit); once the grant is resolved,
 * `handle` is the directory, opened beneath the vendor's root by the party that checked it, and the
 * sandbox uses only the handle.
 */
export interface GrantedDirectory { guestPath: string; hostPath: string; readOnly: boolean; handle?: DirectoryHandle }

export interface EffectiveGrant {
  fs: GrantedDirectory[];
  netConnect: NetRule[];
  netListen: number[];
  /** `quotaBytes` for the namespace; `vendorQuotaBytes` for all the vendor's namespaces together. */
  kv: { namespace: string; quotaBytes: number; vendor: string; vendorQuotaBytes: number } | undefined;
  publish: string[];
  subscribe: string[];
  env: Record<string, string>;
}

export interface Denial { capability: string; requested: string; reason: string }

/** MQTT-style topic patterns: "+" one level, "#" the rest. */
export function topicMatches(pattern: string, topic: string): boolean {
  const p = pattern.split('/');
  const t = topic.split('/');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '#') return true;
    if (i >= t.length || (p[i] !== '+' && p[i] !== t[i])) return false;
  }
  return p.length === t.length;
}

/** Whether every topic `requested` can match is also matched by `allowed` (pattern subsumption). */
export function subsumes(allowed: string, requested: string): boolean {
  const a = allowed.split('/');
  const r = requested.split('/');
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '#') return true;
    if (i >= r.length || r[i] === '#') return false;
    if (a[i] === '+') continue;
    if (r[i] === '+' || a[i] !== r[i]) return false;
  }
  return a.length === r.length;
}

function patternCovered(requested: string, allowed: readonly string[]): boolean {
  return allowed.some((a) => subsumes(a, requested));
}

const UNITS: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

export function effectiveGrant(vendor: string, app: string, request: CapabilityRequest, policy: OperatorGrantPolicy,
  protect: ProtectedAddresses = DEFAULT_PROTECTED): { grant: EffectiveGrant; denials: Denial[] } {
  const denials: Denial[] = [];
  const grant: EffectiveGrant = { fs: [], netConnect: [], netListen: [], kv: undefined, publish: [], subscribe: [], env: {} };
  const root = path.resolve(policy.dataRoot);

  for (const f of request.fs ?? []) {
    const hostPath = path.resolve(root, f.path);
    const rel = path.relative(root, hostPath);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      denials.push({ capability: 'fs', requested: `${f.guest} -> ${f.path}`, reason: `outside ${vendor}'s data root` });
      continue;
    }
    const wantsWrite = f.mode === 'rw';
    if (wantsWrite && !policy.fsWritable) {
      denials.push({ capability: 'fs', requested: `${f.guest} (rw)`, reason: 'policy grants this vendor read-only files (fsWritable: false); granted read-only' });
    }
    grant.fs.push({ guestPath: f.guest, hostPath, readOnly: !(wantsWrite && policy.fsWritable) });
  }

  const operatorRules = policy.netConnect.map(parseNetRule);
  for (const text of request.net?.connect ?? []) {
    const wanted = parseNetRule(text);
    const intersections = operatorRules.map((r) => netRuleIntersection(r, wanted)).filter((r): r is NetRule => r !== undefined);
    const refusals = intersections.map((r) => protectedUnnamed(r, protect));
    const granted = intersections.filter((_, i) => refusals[i] === undefined);
    for (const g of granted) if (!grant.netConnect.some((x) => x.text === g.text && x.operatorHost === g.operatorHost)) grant.netConnect.push(g);
    if (granted.length > 0) continue;
    const why = refusals.find((r) => r !== undefined);
    denials.push({
      capability: 'net.connect', requested: text,
      reason: why ? `${why}; the operator's net.connect list for ${vendor} matches it only by wildcard, and only a rule naming it grants it`
        : `not in the operator's net.connect list for ${vendor}`,
    });
  }
  for (const port of request.net?.listen ?? []) {
    if (port >= policy.netListen.from && port <= policy.netListen.to) grant.netListen.push(port);
    else denials.push({ capability: 'net.listen', requested: String(port), reason: policy.netListen.to < policy.netListen.from ? `${vendor} has no listen port range` : `outside ${vendor}'s range ${policy.netListen.from}-${policy.netListen.to}` });
  }

  if (request.kv) {
    const m = request.kv.quota ? /^(\d+)(Ki|Mi|Gi)$/.exec(request.kv.quota) : null;
    const wanted = m ? Number(m[1]) * UNITS[m[2]!]! : policy.kvQuotaBytes;
    if (policy.kvQuotaBytes <= 0) {
      denials.push({ capability: 'kv', requested: request.kv.quota ?? 'default', reason: `no kv quota for ${vendor}` });
    } else {
      if (wanted > policy.kvQuotaBytes) denials.push({ capability: 'kv', requested: request.kv.quota!, reason: `above ${vendor}'s quota of ${policy.kvQuotaBytes} bytes; capped` });
      // The namespace is always the vendor's own (plus the app's name when it asks for one).
      // The vendor's quota is for all its namespaces together (kv-store.ts checks both on every write).
      grant.kv = { namespace: `${vendor}/${request.kv.namespace ?? app}`, quotaBytes: Math.min(wanted, policy.kvQuotaBytes), vendor, vendorQuotaBytes: policy.kvQuotaBytes };
    }
  }

  for (const [kind, allowed] of [['publish', policy.publish], ['subscribe', policy.subscribe]] as const) {
    for (const pattern of request.messaging?.[kind] ?? []) {
      if (patternCovered(pattern, allowed)) grant[kind].push(pattern);
      else denials.push({ capability: `messaging.${kind}`, requested: pattern, reason: `not within ${vendor}'s ${kind} topics (${allowed.join(', ') || 'none'})` });
    }
  }

  for (const [name, value] of Object.entries(request.env ?? {})) {
    if (policy.env.includes(name) || policy.env.includes('*')) grant.env[name] = value;
    else denials.push({ capability: 'env', requested: name, reason: `not in the operator's env allow-list for ${vendor}` });
  }
  return { grant, denials };
}
