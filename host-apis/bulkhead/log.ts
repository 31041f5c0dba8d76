// bulkhead:host/log for one app: structured records with a rate limit (token bucket), so a guest
// flooding its log costs the device a bounded amount of work and storage.
import type { AuditSink } from './audit.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
export interface LogRecord { level: LogLevel; message: string; fields: Record<string, string> }
export interface LogLimits { perSecond: number; burst: number; maxBytes: number }
export const DEFAULT_LOG_LIMITS: LogLimits = { perSecond: 100, burst: 200, maxBytes: 4096 };

export function createLog(sink: (record: LogRecord) => void, limits: LogLimits, audit: AuditSink) {
  let tokens = limits.burst;
  let last = performance.now();
  let dropped = 0;
  let totalDropped = 0;
  let audited = false;
  let lastSummary = 0;

  function admit(): boolean {
    const now = performance.now();
    tokens = Math.min(limits.burst, tokens + ((now - last) / 1000) * limits.perSecond);
    last = now;
    if (tokens >= 1) {
      tokens -= 1;
      // Say in the log itself how much was lost, at most once a second.
      if (dropped > 0 && now - lastSummary >= 1000) {
        sink({ level: 'warn', message: `log rate limit: ${dropped} records dropped`, fields: { dropped: String(dropped) } });
        lastSummary = now;
        dropped = 0;
      }
      return true;
    }
    dropped++;
    totalDropped++;
    if (!audited) {
      // One audit event per instance: the operator needs to know it happened, not each record.
      audited = true;
      audit({ capability: 'log.rate', attempted: 'more log records than the rate allows', reason: `over ${limits.perSecond}/s (burst ${limits.burst}); records dropped` });
    }
    return false;
  }

  const write = (level: LogLevel, message: string, fields: [string, string][]): void => {
    if (!admit()) return;
    let text = message;
    if (Buffer.byteLength(text) > limits.maxBytes) text = `${Buffer.from(text).subarray(0, limits.maxBytes).toString()}… (truncated)`;
    sink({ level, message: text, fields: Object.fromEntries(fields.slice(0, 32)) });
  };
  /** At the instance's end: report what was dropped since the last summary. */
  const flush = (): void => {
    if (dropped > 0) sink({ level: 'warn', message: `log rate limit: ${dropped} records dropped`, fields: { dropped: String(dropped) } });
    dropped = 0;
  };
  return { write, flush, droppedTotal: () => totalDropped };
}
