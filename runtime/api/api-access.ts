// Who may do what over the API. Local clients reach the unix socket only through file permissions
// (the socket is 0660 inside the data dir), and are admins. Remote clients have passed the TLS 1.3
// handshake with a certificate from the operator's client CA; policy.yaml's `api.clients` maps that
// certificate, by exact subject CN or exact URI SAN (e.g. a SPIFFE ID), to a role. A certificate
// that no rule names has no role and is refused, even though the CA signed it.
import fs from 'node:fs';
import path from 'node:path';
import type { PeerCertificate } from 'node:tls';
import YAML from 'yaml';
import { loadDevicePolicy } from '../state/device-policy.js';
import { ApiError } from './api-errors.js';

export type ApiRole = 'admin' | 'reader' | 'vendor';
export interface ApiClientRule { cn?: string; uri?: string; role: ApiRole; vendor?: string }
/** A client's role; a `vendor` client acts for exactly one vendor identity. */
export interface ApiGrant { role: ApiRole; vendor?: string }
export interface ApiPolicy { clients: ApiClientRule[]; rateLimit: { max: number; windowSeconds: number }; maxFollowers: number }

export const DEFAULT_API_POLICY: ApiPolicy = { clients: [], rateLimit: { max: 1200, windowSeconds: 10 }, maxFollowers: 256 };

/** The `api:` section of policy.yaml (validated with the rest of the file by loadDevicePolicy). */
export function loadApiPolicy(dataDir: string): ApiPolicy {
  loadDevicePolicy(dataDir); // throws a PolicyError naming the file and field when it is invalid
  const file = path.join(dataDir, 'policy.yaml');
  if (!fs.existsSync(file)) return DEFAULT_API_POLICY;
  const api = (YAML.parse(fs.readFileSync(file, 'utf8')) ?? {}).api as Partial<ApiPolicy> | undefined;
  return {
    clients: api?.clients ?? [],
    rateLimit: { ...DEFAULT_API_POLICY.rateLimit, ...api?.rateLimit },
    maxFollowers: api?.maxFollowers ?? DEFAULT_API_POLICY.maxFollowers,
  };
}

/** The URI SANs of a peer certificate (Node renders them as `URI:spiffe://..., DNS:...`). */
function uriSans(cert: PeerCertificate): string[] {
  return (cert.subjectaltname ?? '').split(', ').filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
}

function commonNames(cert: PeerCertificate): string[] {
  const cn = cert.subject?.CN as string | string[] | undefined;
  return cn === undefined ? [] : Array.isArray(cn) ? cn : [cn];
}

/**
 * The role of a verified client certificate; with several matching rules, the least privileged
 * wins (reader, then vendor, then admin), and rules naming two different vendors make a reader.
 */
export function roleOfCertificate(cert: PeerCertificate, rules: ApiClientRule[]): ApiGrant | undefined {
  const cns = commonNames(cert);
  const uris = uriSans(cert);
  const matched = rules.filter((r) => (r.cn !== undefined && cns.includes(r.cn)) || (r.uri !== undefined && uris.includes(r.uri)));
  if (matched.length === 0) return undefined;
  if (matched.some((r) => r.role === 'reader')) return { role: 'reader' };
  const vendors = new Set(matched.filter((r) => r.role === 'vendor').map((r) => r.vendor!));
  if (vendors.size > 1) return { role: 'reader' };
  if (vendors.size === 1) return { role: 'vendor', vendor: [...vendors][0]! };
  return { role: 'admin' };
}

/**
 * Refuses a vendor client acting on what belongs to another vendor (exact identity, as the trust
 * store and the installed package record it). Admins pass; readers never get this far on a write.
 */
export function assertActsFor(request: { role: ApiRole; vendor?: string; client: string }, owner: string | undefined, what: string): void {
  if (request.role !== 'vendor') return;
  if (owner === undefined || owner !== request.vendor) {
    throw new ApiError(403, 'BH_ERR_API_FORBIDDEN', `${request.client} acts for ${JSON.stringify(request.vendor)}; ${what} belongs to ${owner === undefined ? 'no vendor it may act for' : JSON.stringify(owner)}`);
  }
}

/** A stable name of the client for logs and rate limiting. */
export function clientName(cert: PeerCertificate): string {
  return uriSans(cert)[0] ?? commonNames(cert)[0] ?? cert.fingerprint256;
}

/** A cache that re-reads the policy only when policy.yaml changes (the API checks it per request). */
export function cachedApiPolicy(dataDir: string): () => ApiPolicy {
  let key = '';
  let value = DEFAULT_API_POLICY;
  return () => {
    let stat: fs.Stats | undefined;
    try { stat = fs.statSync(path.join(dataDir, 'policy.yaml')); } catch { /* absent: defaults */ }
    const now = stat ? `${stat.mtimeMs}:${stat.size}:${stat.ino}` : 'none';
    if (now !== key) {
      value = loadApiPolicy(dataDir);
      key = now;
    }
    return value;
  };
}
