// Command output: human text by default, one JSON document with --json (for machines).
import { PackageError } from '../../packages/package-errors.js';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';

export function emit(json: boolean | undefined, data: unknown, human: () => string): void {
  if (json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else {
    const text = human();
    if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}

/** Turns a PackageError into a CliError that prints its stable code. */
export function asCliError(err: unknown): unknown {
  if (err instanceof PackageError) return new CliError(`${err.code}: ${err.message}`, ExitCode.FAILURE, err.code);
  return err;
}

/** Step messages of a long operation on stderr, only for a person watching (quiet by default otherwise). */
export function stepReporter(json?: boolean): ((message: string) => void) | undefined {
  return json || !process.stderr.isTTY ? undefined : (message) => process.stderr.write(`${message}\n`);
}

/** Progress on stderr for long operations, only when a person is watching (a TTY). */
export function progressReporter(label: string): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = -1;
  return (done, total) => {
    const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
    if (pct === last) return;
    last = pct;
    process.stderr.write(`\r${label} ${pct}%${pct === 100 ? '\n' : ''}`);
  };
}
