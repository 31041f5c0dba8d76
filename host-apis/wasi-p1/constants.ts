// Numeric constants of wasi_snapshot_preview1, as laid down in the witx of WASI preview1
// (phases/snapshot/witx/typenames.witx). Names keep the spec's spelling so a reader can grep both.

export const Errno = {
  SUCCESS: 0, TOOBIG: 1, ACCES: 2, ADDRINUSE: 3, ADDRNOTAVAIL: 4, AFNOSUPPORT: 5, AGAIN: 6,
  ALREADY: 7, BADF: 8, BADMSG: 9, BUSY: 10, CANCELED: 11, CHILD: 12, CONNABORTED: 13,
  CONNREFUSED: 14, CONNRESET: 15, DEADLK: 16, DESTADDRREQ: 17, DOM: 18, DQUOT: 19, EXIST: 20,
  FAULT: 21, FBIG: 22, HOSTUNREACH: 23, IDRM: 24, ILSEQ: 25, INPROGRESS: 26, INTR: 27, INVAL: 28,
  IO: 29, ISCONN: 30, ISDIR: 31, LOOP: 32, MFILE: 33, MLINK: 34, MSGSIZE: 35, MULTIHOP: 36,
  NAMETOOLONG: 37, NETDOWN: 38, NETRESET: 39, NETUNREACH: 40, NFILE: 41, NOBUFS: 42, NODEV: 43,
  NOENT: 44, NOEXEC: 45, NOLCK: 46, NOLINK: 47, NOMEM: 48, NOMSG: 49, NOPROTOOPT: 50, NOSPC: 51,
  NOSYS: 52, NOTCONN: 53, NOTDIR: 54, NOTEMPTY: 55, NOTRECOVERABLE: 56, NOTSOCK: 57, NOTSUP: 58,
  NOTTY: 59, NXIO: 60, OVERFLOW: 61, OWNERDEAD: 62, PERM: 63, PIPE: 64, PROTO: 65,
  PROTONOSUPPORT: 66, PROTOTYPE: 67, RANGE: 68, ROFS: 69, SPIPE: 70, SRCH: 71, STALE: 72,
  TIMEDOUT: 73, TXTBSY: 74, XDEV: 75, NOTCAPABLE: 76,
} as const;

export const Filetype = {
  UNKNOWN: 0, BLOCK_DEVICE: 1, CHARACTER_DEVICE: 2, DIRECTORY: 3, REGULAR_FILE: 4,
  SOCKET_DGRAM: 5, SOCKET_STREAM: 6, SYMBOLIC_LINK: 7,
} as const;

const bit = (n: number): bigint => 1n << BigInt(n);
export const Rights = {
  FD_DATASYNC: bit(0), FD_READ: bit(1), FD_SEEK: bit(2), FD_FDSTAT_SET_FLAGS: bit(3),
  FD_SYNC: bit(4), FD_TELL: bit(5), FD_WRITE: bit(6), FD_ADVISE: bit(7), FD_ALLOCATE: bit(8),
  PATH_CREATE_DIRECTORY: bit(9), PATH_CREATE_FILE: bit(10), PATH_LINK_SOURCE: bit(11),
  PATH_LINK_TARGET: bit(12), PATH_OPEN: bit(13), FD_READDIR: bit(14), PATH_READLINK: bit(15),
  PATH_RENAME_SOURCE: bit(16), PATH_RENAME_TARGET: bit(17), PATH_FILESTAT_GET: bit(18),
  PATH_FILESTAT_SET_SIZE: bit(19), PATH_FILESTAT_SET_TIMES: bit(20), FD_FILESTAT_GET: bit(21),
  FD_FILESTAT_SET_SIZE: bit(22), FD_FILESTAT_SET_TIMES: bit(23), PATH_SYMLINK: bit(24),
  PATH_REMOVE_DIRECTORY: bit(25), PATH_UNLINK_FILE: bit(26), POLL_FD_READWRITE: bit(27),
  SOCK_SHUTDOWN: bit(28), SOCK_ACCEPT: bit(29),
} as const;

export const ALL_RIGHTS: bigint = bit(30) - 1n;

/** Rights that change what is stored: none of them survives on a read-only preopen. */
export const WRITE_RIGHTS: bigint =
  Rights.FD_DATASYNC | Rights.FD_WRITE | Rights.FD_ALLOCATE | Rights.FD_FDSTAT_SET_FLAGS |
  Rights.FD_SYNC | Rights.PATH_CREATE_DIRECTORY | Rights.PATH_CREATE_FILE |
  Rights.PATH_LINK_SOURCE | Rights.PATH_LINK_TARGET | Rights.PATH_RENAME_SOURCE |
  Rights.PATH_RENAME_TARGET | Rights.PATH_FILESTAT_SET_SIZE | Rights.PATH_FILESTAT_SET_TIMES |
  Rights.FD_FILESTAT_SET_SIZE | Rights.FD_FILESTAT_SET_TIMES | Rights.PATH_SYMLINK |
  Rights.PATH_REMOVE_DIRECTORY | Rights.PATH_UNLINK_FILE;

/** Rights that make sense on a directory descriptor (base). */
export const DIRECTORY_RIGHTS: bigint =
  Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_SYNC | Rights.FD_ADVISE | Rights.PATH_CREATE_DIRECTORY |
  Rights.PATH_CREATE_FILE | Rights.PATH_LINK_SOURCE | Rights.PATH_LINK_TARGET | Rights.PATH_OPEN |
  Rights.FD_READDIR | Rights.PATH_READLINK | Rights.PATH_RENAME_SOURCE |
  Rights.PATH_RENAME_TARGET | Rights.PATH_FILESTAT_GET | Rights.PATH_FILESTAT_SET_SIZE |
  Rights.PATH_FILESTAT_SET_TIMES | Rights.FD_FILESTAT_GET | Rights.FD_FILESTAT_SET_TIMES |
  Rights.PATH_SYMLINK | Rights.PATH_UNLINK_FILE | Rights.PATH_REMOVE_DIRECTORY |
  Rights.POLL_FD_READWRITE;

/** Rights that make sense on a regular file descriptor (base). */
export const FILE_RIGHTS: bigint =
  Rights.FD_DATASYNC | Rights.FD_READ | Rights.FD_SEEK | Rights.FD_FDSTAT_SET_FLAGS |
  Rights.FD_SYNC | Rights.FD_TELL | Rights.FD_WRITE | Rights.FD_ADVISE | Rights.FD_ALLOCATE |
  Rights.FD_FILESTAT_GET | Rights.FD_FILESTAT_SET_SIZE | Rights.FD_FILESTAT_SET_TIMES |
  Rights.POLL_FD_READWRITE;

export const STDIO_RIGHTS: bigint =
  Rights.FD_READ | Rights.FD_WRITE | Rights.FD_FDSTAT_SET_FLAGS | Rights.FD_FILESTAT_GET |
  Rights.POLL_FD_READWRITE;

export const FdFlags = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 } as const;
export const OFlags = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;
export const LookupFlags = { SYMLINK_FOLLOW: 1 } as const;
export const FstFlags = { ATIM: 1, ATIM_NOW: 2, MTIM: 4, MTIM_NOW: 8 } as const;
export const Whence = { SET: 0, CUR: 1, END: 2 } as const;
export const ClockId = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME_ID: 2, THREAD_CPUTIME_ID: 3 } as const;
export const EventType = { CLOCK: 0, FD_READ: 1, FD_WRITE: 2 } as const;
export const SubclockFlags = { ABSTIME: 1 } as const;
export const PREOPENTYPE_DIR = 0;
export const ADVICE_MAX = 5;
