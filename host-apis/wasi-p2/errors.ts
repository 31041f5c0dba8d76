// How WASI 0.2 host functions fail: jco's generated bindings turn a thrown `{ payload }` into the
// `err` case of the function's result, so every expected failure is thrown in that shape.
import { Errno } from '../wasi-p1/constants.js';
import { toErrno } from '../wasi-p1/errors.js';

export type FsErrorCode = 'access' | 'would-block' | 'already' | 'bad-descriptor' | 'busy' | 'deadlock' | 'quota' | 'exist'
  | 'file-too-large' | 'illegal-byte-sequence' | 'in-progress' | 'interrupted' | 'invalid' | 'io' | 'is-directory' | 'loop'
  | 'too-many-links' | 'message-size' | 'name-too-long' | 'no-device' | 'no-entry' | 'no-lock' | 'insufficient-memory'
  | 'insufficient-space' | 'not-directory' | 'not-empty' | 'not-recoverable' | 'unsupported' | 'no-tty' | 'no-such-device'
  | 'overflow' | 'not-permitted' | 'pipe' | 'read-only' | 'invalid-seek' | 'text-file-busy' | 'cross-device';

/** A failure the guest receives as the `err` case of a `result`, never as a trap. */
export class GuestError {
  constructor(readonly payload: unknown) {}
}

/** wasi:cli/exit unwinds the guest with this; the instance host turns it into an exit code. */
export class ComponentExit extends Error {
  constructor(readonly code: number) {
    super(`exit(${code})`);
  }
}

const ERRNO_TO_CODE: Partial<Record<number, FsErrorCode>> = {
  [Errno.ACCES]: 'access', [Errno.AGAIN]: 'would-block', [Errno.ALREADY]: 'already', [Errno.BADF]: 'bad-descriptor',
  [Errno.BUSY]: 'busy', [Errno.DEADLK]: 'deadlock', [Errno.DQUOT]: 'quota', [Errno.EXIST]: 'exist',
  [Errno.FBIG]: 'file-too-large', [Errno.ILSEQ]: 'illegal-byte-sequence', [Errno.INPROGRESS]: 'in-progress',
  [Errno.INTR]: 'interrupted', [Errno.INVAL]: 'invalid', [Errno.IO]: 'io', [Errno.ISDIR]: 'is-directory',
  [Errno.LOOP]: 'loop', [Errno.MLINK]: 'too-many-links', [Errno.MSGSIZE]: 'message-size',
  [Errno.NAMETOOLONG]: 'name-too-long', [Errno.NODEV]: 'no-device', [Errno.NOENT]: 'no-entry', [Errno.NOLCK]: 'no-lock',
  [Errno.NOMEM]: 'insufficient-memory', [Errno.NOSPC]: 'insufficient-space', [Errno.NOTDIR]: 'not-directory',
  [Errno.NOTEMPTY]: 'not-empty', [Errno.NOTRECOVERABLE]: 'not-recoverable', [Errno.NOTSUP]: 'unsupported',
  [Errno.NOSYS]: 'unsupported', [Errno.NOTTY]: 'no-tty', [Errno.NXIO]: 'no-such-device', [Errno.OVERFLOW]: 'overflow',
  [Errno.PERM]: 'not-permitted', [Errno.PIPE]: 'pipe', [Errno.ROFS]: 'read-only', [Errno.SPIPE]: 'invalid-seek',
  [Errno.TXTBSY]: 'text-file-busy', [Errno.XDEV]: 'cross-device',
  // WASI 0.2 has no code for a full descriptor table; it is a shortage of host resources.
  [Errno.MFILE]: 'insufficient-memory', [Errno.NFILE]: 'insufficient-memory',
  // Leaving the granted directory has no WASI 0.2 code of its own; wasmtime reports it the same way.
  [Errno.NOTCAPABLE]: 'not-permitted',
};

/** Maps anything a filesystem call threw (host errno, confinement refusal) to a WASI 0.2 error code. */
export function fsErrorCode(err: unknown): FsErrorCode {
  return ERRNO_TO_CODE[toErrno(err)] ?? 'io';
}

/** Runs a filesystem operation, rethrowing failures as the guest-visible error code. */
export function fsCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof GuestError || err instanceof ComponentExit) throw err;
    throw new GuestError(fsErrorCode(err));
  }
}
