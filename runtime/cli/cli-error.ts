import { oneLine } from '../../packages/quote-value.js';

/** An error meant for the user: printed as one line, exits with `exitCode`. Never a stack trace. */
export class CliError extends Error {
  /** `details`: structured data for --json (e.g. every problem of a Compose file), beside the message. */
  constructor(message: string, readonly exitCode: number, readonly code?: string, readonly details?: Record<string, unknown>) {
    super(message);
  }
}

/**
 * The lines to print for an error: one line per error. A header followed by a list of items
 * ("refused by the isolation policy:\n  - [rule] ...") becomes one self-contained line per item,
 * headed alike, so each can be read (and grepped) alone; anything else is joined into one line.
 */
export function errorLines(message: string): string[] {
  const lines = message.split(/\r?\n/).map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
  if (lines.length <= 1) return [oneLine(message)];
  const [header, ...rest] = lines;
  if (rest.every((l) => /^\s*- /.test(l))) {
    const head = header!.replace(/:\s*$/, '');
    return rest.map((l) => `${head}: ${l.replace(/^\s*- /, '')}`);
  }
  return [oneLine(message).trim()];
}
