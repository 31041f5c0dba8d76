import { Errno } from './constants.js';

/** An error the guest receives as a return value (never a trap). */
export class WasiError extends Error {
  constructor(readonly errno: number, message?: string) {
    super(message ?? `wasi errno ${errno}`);
  }
}

/** proc_exit unwinds the guest's stack with this; the sandbox turns it into an exit code. */
export class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`proc_exit(${code})`);
  }
}

// Host errno names (libuv/Node `err.code`) to WASI errno. One table, so every host API maps alike.
const HOST_TO_WASI: Record<string, number> = {
  E2BIG: Errno.TOOBIG, EACCES: Errno.ACCES, EADDRINUSE: Errno.ADDRINUSE,
  EADDRNOTAVAIL: Errno.ADDRNOTAVAIL, EAFNOSUPPORT: Errno.AFNOSUPPORT, EAGAIN: Errno.AGAIN,
  EALREADY: Errno.ALREADY, EBADF: Errno.BADF, EBUSY: Errno.BUSY, ECANCELED: Errno.CANCELED,
  ECONNABORTED: Errno.CONNABORTED, ECONNREFUSED: Errno.CONNREFUSED, ECONNRESET: Errno.CONNRESET,
  EDQUOT: Errno.DQUOT, EEXIST: Errno.EXIST, EFAULT: Errno.FAULT, EFBIG: Errno.FBIG,
  EHOSTUNREACH: Errno.HOSTUNREACH, EILSEQ: Errno.ILSEQ, EINTR: Errno.INTR, EINVAL: Errno.INVAL,
  EIO: Errno.IO, EISCONN: Errno.ISCONN, EISDIR: Errno.ISDIR, ELOOP: Errno.LOOP,
  EMFILE: Errno.MFILE, EMLINK: Errno.MLINK, EMSGSIZE: Errno.MSGSIZE,
  ENAMETOOLONG: Errno.NAMETOOLONG, ENETDOWN: Errno.NETDOWN, ENETUNREACH: Errno.NETUNREACH,
  ENFILE: Errno.NFILE, ENOBUFS: Errno.NOBUFS, ENODEV: Errno.NODEV, ENOENT: Errno.NOENT,
  ENOMEM: Errno.NOMEM, ENOSPC: Errno.NOSPC, ENOSYS: Errno.NOSYS, ENOTCONN: Errno.NOTCONN,
  ENOTDIR: Errno.NOTDIR, ENOTEMPTY: Errno.NOTEMPTY, ENOTSOCK: Errno.NOTSOCK,
  ENOTSUP: Errno.NOTSUP, EOPNOTSUPP: Errno.NOTSUP, ENOTTY: Errno.NOTTY, ENXIO: Errno.NXIO,
  EOVERFLOW: Errno.OVERFLOW, EPERM: Errno.PERM, EPIPE: Errno.PIPE, ERANGE: Errno.RANGE,
  EROFS: Errno.ROFS, ESPIPE: Errno.SPIPE, ETIMEDOUT: Errno.TIMEDOUT, ETXTBSY: Errno.TXTBSY,
  EXDEV: Errno.XDEV,
};

/** Maps anything a host call threw to the errno the guest should see. */
export function toErrno(err: unknown): number {
  if (err instanceof WasiError) return err.errno;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in HOST_TO_WASI) return HOST_TO_WASI[code]!;
  return Errno.IO;
}
