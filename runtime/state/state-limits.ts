// What the device keeps for its own state database, from policy.yaml's `state:` (or defaults):
// free space vendors' writes must leave for it, and how many log and audit rows it keeps per vendor
// (and of its own), and for how long. Bounded tables keep a flood from growing the database (and every query on it).
import { parseDuration, parseSize } from '../cli/parse-units.js';
import type { DevicePolicy } from './device-policy.js';

export interface StateLimits { reserveBytes: number; logRows: number; auditRows: number; maxAgeMs: number }

export const DEFAULT_STATE_LIMITS: StateLimits = { reserveBytes: 64 * 1024 * 1024, logRows: 100_000, auditRows: 100_000, maxAgeMs: 30 * 86_400_000 };

export function stateLimits(policy: DevicePolicy): StateLimits {
  const s = policy.state ?? {};
  return {
    reserveBytes: s.reserve ? parseSize(s.reserve) : DEFAULT_STATE_LIMITS.reserveBytes,
    logRows: s.logRows ?? DEFAULT_STATE_LIMITS.logRows,
    auditRows: s.auditRows ?? DEFAULT_STATE_LIMITS.auditRows,
    maxAgeMs: s.maxAge ? parseDuration(s.maxAge) : DEFAULT_STATE_LIMITS.maxAgeMs,
  };
}
