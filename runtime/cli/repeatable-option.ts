import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';
import { quoteValue } from '../../packages/quote-value.js';

/** Commander accumulator for repeatable options (`--dir a --dir b`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Repeated `--param NAME=VALUE` flags as a map; anything else is a usage error naming it. */
export function parseParamFlags(params: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new CliError(`--param ${quoteValue(p)}: expected NAME=VALUE`, ExitCode.BAD_INPUT);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}
