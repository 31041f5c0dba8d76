// Parsers for human-written sizes and durations on the command line.
import { quoteValue } from '../../packages/quote-value.js';

export class UnitError extends Error {}

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kb: 1000, kib: 1024,
  m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3,
  // Kubernetes/Margo style, as in margo.yaml and policy.yaml
  ki: 1024, mi: 1024 ** 2, gi: 1024 ** 3,
};

/** "64MiB", "64M", "1g", "65536" -> bytes. Bare K/M/G are binary, as in docker --memory. */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const factor = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || factor === undefined) {
    throw new UnitError(`${quoteValue(text)} is not a size; use a number with an optional unit, e.g. 64MiB, 512K, 1G`);
  }
  const bytes = Math.floor(Number(match[1]) * factor);
  if (!Number.isSafeInteger(bytes)) throw new UnitError(`size ${quoteValue(text)} is too large`);
  if (bytes <= 0) throw new UnitError(`size ${quoteValue(text)} must be greater than zero`);
  return bytes;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, '': 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "250ms", "2s", "1.5m", "3" (seconds) -> milliseconds. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|)\s*$/i.exec(text);
  if (!match) throw new UnitError(`${quoteValue(text)} is not a duration; use e.g. 500ms, 2s, 1m`);
  const ms = Number(match[1]) * DURATION_UNITS[match[2]!.toLowerCase()]!;
  if (ms <= 0) throw new UnitError(`duration ${quoteValue(text)} must be greater than zero`);
  return ms;
}
