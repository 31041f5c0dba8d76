// RFC 9457 problem details as a Margo WFM sends them (problem-types.md): `type` is what a client
// acts on; Margo adds `retryable`, `retryAfterSeconds` (advisory; the Retry-After header wins),
// `backoffStrategy` (none | fixed | exponential) and `errors[]`. A 403 `not-authorized` means the
// WFM's policy no longer accepts this client (for example, the relationship was retired).
import { FleetError } from './fleet-errors.js';
import type { WfmResponse } from './wfm-transport.js';

export interface ProblemDetails {
  status: number;
  type: string;
  title?: string;
  detail?: string;
  retryable?: boolean;
  retryAfterSeconds?: number;
  backoffStrategy?: 'none' | 'fixed' | 'exponential';
  errors?: Array<{ field?: string; message?: string }>;
  /** Retry-After in ms (header first, then retryAfterSeconds). */
  retryAfterMs?: number;
}

// Both namespaces the drafts used for the same registry.
const MARGO_TYPE_PREFIXES = [
  'https://docs.margo.org/specification/problem-types#',
  'https://docs.margo.org/specification/margo-management-interface/problem-types#',
];

export function margoProblemName(type: string): string | undefined {
  for (const prefix of MARGO_TYPE_PREFIXES) if (type.startsWith(prefix)) return type.slice(prefix.length);
  return undefined;
}

/** Retry-After: delta-seconds or an HTTP-date (RFC 9110 10.2.3), as ms from now. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const text = v.trim();
  if (/^[0-9]{1,10}$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function problemOf(res: WfmResponse): ProblemDetails {
  const problem: ProblemDetails = { status: res.status, type: 'about:blank' };
  const contentType = String(res.headers['content-type'] ?? '');
  if (/json/i.test(contentType) && res.body.length > 0) {
    try {
      const doc = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
      if (doc && typeof doc === 'object') {
        if (typeof doc.type === 'string') problem.type = doc.type;
        if (typeof doc.title === 'string') problem.title = doc.title.slice(0, 200);
        if (typeof doc.detail === 'string') problem.detail = doc.detail.slice(0, 500);
        if (typeof doc.retryable === 'boolean') problem.retryable = doc.retryable;
        if (typeof doc.retryAfterSeconds === 'number' && doc.retryAfterSeconds >= 0) problem.retryAfterSeconds = doc.retryAfterSeconds;
        if (doc.backoffStrategy === 'none' || doc.backoffStrategy === 'fixed' || doc.backoffStrategy === 'exponential') problem.backoffStrategy = doc.backoffStrategy;
        if (Array.isArray(doc.errors)) problem.errors = doc.errors.slice(0, 20).filter((e) => e && typeof e === 'object');
      }
    } catch {
      // Not JSON after all: status and title stand in (RFC 9457 fallback).
    }
  }
  problem.retryAfterMs = retryAfterMs(res.headers['retry-after']) ?? (problem.retryAfterSeconds !== undefined ? problem.retryAfterSeconds * 1000 : undefined);
  return problem;
}

export function isNotAuthorized(problem: ProblemDetails): boolean {
  return problem.status === 403 && margoProblemName(problem.type) === 'not-authorized';
}

function describe(problem: ProblemDetails): string {
  const name = margoProblemName(problem.type) ?? (problem.type === 'about:blank' ? undefined : problem.type);
  const parts = [`${problem.status}${name ? ` ${name}` : ''}`];
  if (problem.title) parts.push(problem.title);
  if (problem.detail && problem.detail !== problem.title) parts.push(problem.detail);
  for (const e of problem.errors ?? []) parts.push(`${e.field ?? '?'}: ${e.message ?? ''}`);
  return parts.join(': ').replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/**
 * What an error answer means to the link: 403 not-authorized retires it; 5xx, 406, 408, 429 and
 * any problem marked retryable are retried (after Retry-After when given); other 4xx are refusals
 * that retrying the same request will not fix.
 */
export function problemError(what: string, res: WfmResponse): FleetError {
  const problem = problemOf(res);
  const text = `${what}: the fleet manager answered ${describe(problem)}`;
  if (isNotAuthorized(problem)) return new FleetError('BH_ERR_FLEET_RETIRED', text);
  const retryable = problem.retryable ?? (res.status >= 500 || res.status === 406 || res.status === 408 || res.status === 429);
  if (retryable && problem.backoffStrategy !== 'none') return new FleetError('BH_ERR_FLEET_UNREACHABLE', text, problem.retryAfterMs);
  return new FleetError('BH_ERR_FLEET_REFUSED', text, problem.retryAfterMs);
}
