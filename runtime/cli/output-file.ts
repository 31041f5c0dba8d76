// Files a command writes: checked up front so a bad path is a clear error naming the directory,
// not an "internal error: ENOENT" after the work (or, worse, halfway through it).
import fs from 'node:fs';
import path from 'node:path';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';

const usage = (message: string) => new CliError(message, ExitCode.BAD_INPUT);

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a directory';
    case 'ENOTDIR': return 'a parent is not a directory';
    case 'ENOSPC': return 'no space left on the device';
    case 'EROFS': return 'read-only file system';
    default: return code ?? (err as Error).message;
  }
}

/**
 * Refuses, before any work is done, an output file whose directory is missing or not writable
 * (naming the directory), or that exists when overwriting is not wanted.
 */
export function checkOutputFile(file: string, options: { force?: boolean } = { force: true }): void {
  const dir = path.dirname(path.resolve(file));
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw usage(`cannot write ${file}: directory ${dir} does not exist (create it first)`);
  }
  if (!st.isDirectory()) throw usage(`cannot write ${file}: ${dir} is not a directory`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw usage(`cannot write ${file}: directory ${dir} is not writable`);
  }
  if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) throw usage(`cannot write ${file}: it is a directory`);
  if (!options.force && fs.existsSync(file)) throw usage(`${file} exists; pass --force to overwrite`);
}

/** A write that failed anyway (the disk filled up, the directory went away) as a clear error. */
export function writeFailure(file: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? new CliError(`cannot write ${file}: ${describeFsError(err)}`, ExitCode.FAILURE) : err;
}
