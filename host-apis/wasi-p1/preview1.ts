// Our capability-scoped wasi_snapshot_preview1. Deny-all by default: a guest has no preopens,
// no environment and no arguments unless the host grants them through WasiGrant.
import { randomFillSync } from 'node:crypto';
import path from 'node:path';
import { openPreopenDirectory, type DirectoryHandle } from '../capabilities/directory-handle.js';
import { clockNow, clockResolution, sleepNs } from './clocks.js';
import {
  ALL_RIGHTS, DIRECTORY_RIGHTS, Errno, EventType, Filetype, Rights, STDIO_RIGHTS, SubclockFlags, WRITE_RIGHTS,
} from './constants.js';
import { ProcExit, toErrno, WasiError } from './errors.js';
import { FdTable } from './fd-table.js';
import { WasiFilesystem } from './filesystem.js';
import { encodeUtf8, GuestMemory } from './guest-memory.js';
import { discardSink, emptySource, type InputSource, type OutputSink } from './stdio.js';
import type { InstanceResources } from '../limits/resource-ledger.js';

export interface PreopenGrant {
  /** Directory on the host; must exist. Opened by path only when there is no `handle`. */
  hostPath: string;
  /** The directory as the grant's checker opened it; when given, the only way it is reached. */
  handle?: DirectoryHandle;
  /** Name the guest sees (e.g. "/data" or "."). */
  guestPath: string;
  readOnly: boolean;
}

export interface WasiGrant {
  args?: readonly string[];
  env?: Readonly<Record<string, string>>;
  preopens?: readonly PreopenGrant[];
  stdin?: InputSource;
  stdout?: OutputSink;
  stderr?: OutputSink;
  /** What the instance may make the host hold (descriptors, disk); default: no limits. */
  resources?: InstanceResources;
}

/** Host-side problems with a grant, reported before the guest starts. */
export class GrantError extends Error {}

type HostFunction = (...args: never[]) => number;

export class WasiPreview1 {
  readonly memory = new GuestMemory();
  private readonly fds: FdTable;
  private readonly fsCalls: WasiFilesystem;
  private readonly args: Uint8Array[];
  private readonly env: Uint8Array[];
  private readonly stdin: InputSource;

  constructor(grant: WasiGrant = {}) {
    this.args = (grant.args ?? []).map((a) => encodeUtf8(`${a}\0`));
    this.env = Object.entries(grant.env ?? {}).map(([k, v]) => encodeUtf8(`${k}=${v}\0`));
    this.stdin = grant.stdin ?? emptySource;
    this.fds = new FdTable(grant.resources);
    this.fsCalls = new WasiFilesystem(this.fds, this.memory);
    const stdio = { filetype: Filetype.CHARACTER_DEVICE, fdflags: 0, readOnly: false, rightsInheriting: 0n };
    this.fds.insert({ kind: 'stdin', source: this.stdin, ...stdio, rightsBase: STDIO_RIGHTS & ~Rights.FD_WRITE }, 0);
    this.fds.insert({ kind: 'output', sink: grant.stdout ?? discardSink, ...stdio, rightsBase: STDIO_RIGHTS & ~Rights.FD_READ }, 1);
    this.fds.insert({ kind: 'output', sink: grant.stderr ?? discardSink, ...stdio, rightsBase: STDIO_RIGHTS & ~Rights.FD_READ }, 2);
    try {
      for (const preopen of grant.preopens ?? []) this.preopen(preopen);
    } catch (err) {
      this.fds.closeAll();
      throw err;
    }
  }

  private preopen(grant: PreopenGrant): void {
    const hostPath = path.resolve(grant.hostPath);
    let hostFd: number;
    try {
      hostFd = this.fds.openHost(`preopen ${grant.guestPath}`, () => openPreopenDirectory(grant));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : `cannot be opened (${code})`;
      throw new GrantError(`preopen ${hostPath} ${why}`);
    }
    const rights = grant.readOnly ? ALL_RIGHTS & ~WRITE_RIGHTS : ALL_RIGHTS;
    this.fds.insert({
      kind: 'directory', hostFd, filetype: Filetype.DIRECTORY, fdflags: 0, readOnly: grant.readOnly,
      preopenName: grant.guestPath, rightsBase: rights & DIRECTORY_RIGHTS, rightsInheriting: rights,
    });
  }

  /** Runs a command's `_start`; returns the exit code (0 when it returns normally). */
  start(instance: WebAssembly.Instance): number {
    const { memory, _start } = instance.exports as { memory?: unknown; _start?: unknown };
    if (!(memory instanceof WebAssembly.Memory)) throw new GrantError('module does not export its memory as "memory"');
    if (typeof _start !== 'function') throw new GrantError('module has no "_start" export (not a WASI command)');
    this.memory.attach(memory);
    try {
      (_start as () => void)();
      return 0;
    } catch (err) {
      if (err instanceof ProcExit) return err.code;
      throw err;
    } finally {
      this.fds.closeAll();
    }
  }

  /** The import object for the `wasi_snapshot_preview1` module. */
  imports(): Record<string, HostFunction> {
    const f = this.fsCalls;
    const m = this.memory;
    const calls: Record<string, (...args: never[]) => void> = {
      args_get: (argv: number, buf: number) => this.writeList(this.args, argv, buf),
      args_sizes_get: (countPtr: number, sizePtr: number) => this.writeSizes(this.args, countPtr, sizePtr),
      environ_get: (envp: number, buf: number) => this.writeList(this.env, envp, buf),
      environ_sizes_get: (countPtr: number, sizePtr: number) => this.writeSizes(this.env, countPtr, sizePtr),
      clock_res_get: (id: number, ptr: number) => m.u64(ptr, clockResolution(id)),
      clock_time_get: (id: number, _precision: bigint, ptr: number) => m.u64(ptr, clockNow(id)),
      fd_advise: f.fd_advise.bind(f),
      fd_allocate: f.fd_allocate.bind(f),
      fd_close: (fd: number) => this.fds.close(fd),
      fd_datasync: f.fd_datasync.bind(f),
      fd_fdstat_get: f.fd_fdstat_get.bind(f),
      fd_fdstat_set_flags: f.fd_fdstat_set_flags.bind(f),
      fd_fdstat_set_rights: f.fd_fdstat_set_rights.bind(f),
      fd_filestat_get: f.fd_filestat_get.bind(f),
      fd_filestat_set_size: f.fd_filestat_set_size.bind(f),
      fd_filestat_set_times: f.fd_filestat_set_times.bind(f),
      fd_pread: f.fd_pread.bind(f),
      fd_prestat_get: f.fd_prestat_get.bind(f),
      fd_prestat_dir_name: f.fd_prestat_dir_name.bind(f),
      fd_pwrite: f.fd_pwrite.bind(f),
      fd_read: (fd: number, iovs: number, len: number, nread: number) =>
        f.fd_read(fd, iovs, len, nread, (into) => this.stdin.read(into)),
      fd_readdir: f.fd_readdir.bind(f),
      fd_renumber: (from: number, to: number) => this.fds.renumber(from, to),
      fd_seek: f.fd_seek.bind(f),
      fd_sync: f.fd_sync.bind(f),
      fd_tell: f.fd_tell.bind(f),
      fd_write: f.fd_write.bind(f),
      path_create_directory: f.path_create_directory.bind(f),
      path_filestat_get: f.path_filestat_get.bind(f),
      path_filestat_set_times: f.path_filestat_set_times.bind(f),
      path_link: f.path_link.bind(f),
      path_open: f.path_open.bind(f),
      path_readlink: f.path_readlink.bind(f),
      path_remove_directory: f.path_remove_directory.bind(f),
      path_rename: f.path_rename.bind(f),
      path_symlink: f.path_symlink.bind(f),
      path_unlink_file: f.path_unlink_file.bind(f),
      poll_oneoff: this.pollOneoff.bind(this),
      proc_exit: (code: number) => { throw new ProcExit(code >>> 0); },
      proc_raise: () => { throw new WasiError(Errno.NOSYS); },
      random_get: (ptr: number, len: number) => { randomFillSync(m.bytes(ptr, len)); },
      sched_yield: () => undefined,
      // No socket is ever handed to a guest without a `net` capability, so every fd that reaches
      // these calls is either unknown (BADF) or not a socket (NOTSOCK).
      sock_accept: (fd: number) => this.notASocket(fd),
      sock_recv: (fd: number) => this.notASocket(fd),
      sock_send: (fd: number) => this.notASocket(fd),
      sock_shutdown: (fd: number) => this.notASocket(fd),
    };
    const wrapped: Record<string, HostFunction> = {};
    for (const [name, call] of Object.entries(calls)) {
      wrapped[name] = ((...args: never[]) => {
        try {
          call(...args);
          return Errno.SUCCESS;
        } catch (err) {
          if (err instanceof ProcExit) throw err;
          return toErrno(err);
        }
      }) as HostFunction;
    }
    return wrapped;
  }

  private notASocket(fd: number): void {
    this.fds.get(fd);
    throw new WasiError(Errno.NOTSOCK);
  }

  private writeSizes(list: Uint8Array[], countPtr: number, sizePtr: number): void {
    this.memory.u32(countPtr, list.length);
    this.memory.u32(sizePtr, list.reduce((n, item) => n + item.length, 0));
  }

  private writeList(list: Uint8Array[], pointers: number, buf: number): void {
    let at = buf;
    list.forEach((item, i) => {
      this.memory.u32(pointers + i * 4, at);
      this.memory.bytes(at, item.length).set(item);
      at += item.length;
    });
  }

  private pollOneoff(inPtr: number, outPtr: number, count: number, neventsPtr: number): void {
    if (count === 0) throw new WasiError(Errno.INVAL, 'poll_oneoff with no subscriptions');
    const view = this.memory.view;
    type Clock = { userdata: bigint; id: number; deadline: bigint };
    const clocks: Clock[] = [];
    const ready: { userdata: bigint; type: number; error: number; nbytes: bigint }[] = [];
    for (let i = 0; i < count; i++) {
      const sub = inPtr + i * 48;
      const userdata = view.getBigUint64(sub, true);
      const tag = view.getUint8(sub + 8);
      if (tag === EventType.CLOCK) {
        const id = view.getUint32(sub + 16, true);
        const timeout = view.getBigUint64(sub + 24, true);
        const flags = view.getUint16(sub + 40, true);
        try {
          const now = clockNow(id);
          clocks.push({ userdata, id, deadline: flags & SubclockFlags.ABSTIME ? timeout : now + timeout });
        } catch (err) {
          ready.push({ userdata, type: tag, error: toErrno(err), nbytes: 0n });
        }
      } else if (tag === EventType.FD_READ || tag === EventType.FD_WRITE) {
        const fd = view.getUint32(sub + 16, true);
        // Files and our stdio never block in a way poll could observe: report them ready.
        try {
          const entry = this.fds.withRights(fd, Rights.POLL_FD_READWRITE);
          const nbytes = tag === EventType.FD_READ ? this.fsCalls.readableBytes(entry) : 0n;
          ready.push({ userdata, type: tag, error: Errno.SUCCESS, nbytes });
        } catch (err) {
          ready.push({ userdata, type: tag, error: toErrno(err), nbytes: 0n });
        }
      } else {
        throw new WasiError(Errno.INVAL, `unknown subscription type ${tag}`);
      }
    }
    if (ready.length === 0) {
      // Nothing is ready: sleep until the earliest clock fires, then report every expired clock.
      const remaining = Math.min(...clocks.map((c) => Number(c.deadline - clockNow(c.id))));
      if (remaining > 0) sleepNs(BigInt(Math.ceil(remaining)));
      for (const clock of clocks) {
        if (clock.deadline <= clockNow(clock.id)) {
          ready.push({ userdata: clock.userdata, type: EventType.CLOCK, error: Errno.SUCCESS, nbytes: 0n });
        }
      }
    }
    const out = this.memory;
    ready.forEach((event, i) => {
      const at = outPtr + i * 32;
      out.bytes(at, 32).fill(0);
      out.u64(at, event.userdata);
      out.u16(at + 8, event.error);
      out.u8(at + 10, event.type);
      out.u64(at + 16, event.nbytes);
    });
    out.u32(neventsPtr, ready.length);
  }
}

/** Names of every function our wasi_snapshot_preview1 provides (for import checks before linking). */
export const PREVIEW1_FUNCTIONS: ReadonlySet<string> = new Set(Object.keys(new WasiPreview1().imports()));
