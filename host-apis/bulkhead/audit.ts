// What every bulkhead host API reports when it refuses a call: the capability, what the guest tried,
// and why. The sandbox records these as audit events with the vendor and app attached.
import { TokenBucket } from '../limits/token-bucket.js';

export interface DenialReport {
  capability: string;
  attempted: string;
  reason: string;
}

export type AuditSink = (denial: DenialReport) => void;

/**
 * A guest-chosen string as it goes into an audit record: quoted, and cut to `max` characters
 * with its full size noted, so a refused 1 MiB key costs the audit log a few dozen bytes.
 */
export function auditedText(text: string, max = 80): string {
  if (text.length <= max) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, max))}... (${Buffer.byteLength(text)} bytes)`;
}

export interface AuditLimits { perSecond: number; burst: number }
export const DEFAULT_AUDIT_LIMITS: AuditLimits = { perSecond: 20, burst: 100 };

/**
 * One instance's audit events, rate-limited (a token bucket): a guest looping on a denied call
 * costs the device a bounded number of rows. What is dropped is said in the audit log itself, as a
 * row "N more audit events dropped", at most once a second and when the instance ends (`flush`).
 */
export function createAuditLimiter(sink: AuditSink, limits: AuditLimits) {
  const bucket = new TokenBucket(limits.perSecond, limits.burst);
  let dropped = 0;
  let lastSummary = 0;
  const summary = () => {
    sink({ capability: 'audit.rate', attempted: `${dropped} more audit events`, reason: `dropped: over ${limits.perSecond}/s (burst ${limits.burst})` });
    dropped = 0;
    lastSummary = performance.now();
  };
  const audit: AuditSink = (denial) => {
    if (!bucket.take()) {
      dropped++;
      return;
    }
    if (dropped > 0 && performance.now() - lastSummary >= 1000) summary();
    sink(denial);
  };
  return {
    audit,
    /** At the instance's end: report what was dropped since the last summary. */
    flush: () => { if (dropped > 0) summary(); },
  };
}
