// fd_* and path_* of wasi_snapshot_preview1 over real host directories, confined by confined-path.
import fs from 'node:fs';
import {
  ADVICE_MAX, DIRECTORY_RIGHTS, Errno, FdFlags, FILE_RIGHTS, Filetype, FstFlags, LookupFlags,
  OFlags, PREOPENTYPE_DIR, Rights, Whence, WRITE_RIGHTS,
} from './constants.js';
import { resolveConfined, procPath, type ResolvedPath } from './confined-path.js';
import { WasiError } from './errors.js';
import { setFdTimes, setPathTimes, type TimeSpec } from '../native/fs-times.js';
import { filetypeOf, type Descriptor, type DirEntrySnapshot, type DirectoryDescriptor, type FdTable, type FileDescriptor } from './fd-table.js';
import { encodeUtf8, type GuestMemory } from './guest-memory.js';
import { ENTRY_BYTES, growthTo } from '../limits/disk-usage.js';

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_DIRECTORY, O_NOFOLLOW } = fs.constants;
const U64_MAX = (1n << 64n) - 1n;

export class WasiFilesystem {
  constructor(private readonly fds: FdTable, private readonly mem: GuestMemory) {}

  // ---- disk accounting: every byte added under the data root is charged to the vendor (EDQUOT
  // over its quota, ENOSPC inside the device's reserve), every byte removed given back. ----------

  private grow(n: number, what: string, fd: number): void {
    this.fds.resources.growDisk(n, what, procPath(fd));
  }

  private shrink(n: number): void {
    this.fds.resources.shrinkDisk(n);
  }

  /** Runs `create` with one new entry charged, refunded if it fails. */
  private newEntry<T>(what: string, dirFd: number, create: () => T): T {
    this.grow(ENTRY_BYTES, what, dirFd);
    try {
      return create();
    } catch (err) {
      this.shrink(ENTRY_BYTES);
      throw err;
    }
  }

  // ---- helpers -----------------------------------------------------------------------------

  private file(fd: number, rights: bigint): FileDescriptor {
    const entry = this.fds.get(fd);
    if (entry.kind === 'directory') {
      // Reading or writing a directory as bytes: POSIX says EISDIR, and so do we.
      if (rights & (Rights.FD_READ | Rights.FD_WRITE)) throw new WasiError(Errno.ISDIR);
      throw new WasiError(Errno.BADF);
    }
    if ((entry.rightsBase & rights) !== rights) throw new WasiError(Errno.NOTCAPABLE);
    if (entry.kind !== 'file') throw new WasiError(rights & Rights.FD_SEEK ? Errno.SPIPE : Errno.BADF);
    return entry;
  }

  private mutable(entry: Descriptor): void {
    if (entry.readOnly) throw new WasiError(Errno.NOTCAPABLE, 'read-only preopen');
  }

  private resolve(dir: DirectoryDescriptor, pathPtr: number, pathLen: number, follow: boolean): ResolvedPath {
    return resolveConfined(dir.hostFd, this.mem.string(pathPtr, pathLen), follow);
  }

  private withPath<T>(dirFd: number, rights: bigint, pathPtr: number, pathLen: number, follow: boolean,
    mutates: boolean, action: (resolved: ResolvedPath, dir: DirectoryDescriptor) => T): T {
    const dir = this.fds.directory(dirFd, rights);
    if (mutates) this.mutable(dir);
    const resolved = this.resolve(dir, pathPtr, pathLen, follow);
    try {
      return action(resolved, dir);
    } finally {
      resolved.release();
    }
  }

  private writeFilestat(ptr: number, st: fs.BigIntStats): void {
    const m = this.mem;
    m.u64(ptr, st.dev);
    m.u64(ptr + 8, st.ino);
    m.u8(ptr + 16, filetypeOf(st));
    m.u64(ptr + 24, st.nlink);
    m.u64(ptr + 32, st.size);
    m.u64(ptr + 40, st.atimeNs);
    m.u64(ptr + 48, st.mtimeNs);
    m.u64(ptr + 56, st.ctimeNs);
  }

  /** Turns WASI timestamps + fstflags into what to do with each of atime and mtime. */
  private times(atim: bigint, mtim: bigint, flags: number): [TimeSpec, TimeSpec] {
    if (flags & ~0xf) throw new WasiError(Errno.INVAL);
    if ((flags & FstFlags.ATIM && flags & FstFlags.ATIM_NOW) || (flags & FstFlags.MTIM && flags & FstFlags.MTIM_NOW)) {
      throw new WasiError(Errno.INVAL);
    }
    const spec = (set: number, now: number, ns: bigint): TimeSpec =>
      flags & now ? { kind: 'now' } : flags & set ? { kind: 'set', ns } : { kind: 'omit' };
    return [spec(FstFlags.ATIM, FstFlags.ATIM_NOW, atim), spec(FstFlags.MTIM, FstFlags.MTIM_NOW, mtim)];
  }

  // ---- fd_* -----------------------------------------------------------------------------------

  fd_advise(fd: number, _offset: bigint, _len: bigint, advice: number): void {
    this.file(fd, Rights.FD_ADVISE);
    if (advice > ADVICE_MAX) throw new WasiError(Errno.INVAL);
  }

  fd_allocate(fd: number, offset: bigint, len: bigint): void {
    const f = this.file(fd, Rights.FD_ALLOCATE);
    this.mutable(f);
    const end = offset + len;
    if (end > U64_MAX) throw new WasiError(Errno.FBIG);
    const growth = growthTo(f.hostFd, end);
    if (growth > 0) {
      this.grow(growth, 'fd_allocate', f.hostFd);
      fs.ftruncateSync(f.hostFd, Number(end));
    }
  }

  fd_datasync(fd: number): void {
    const f = this.file(fd, Rights.FD_DATASYNC);
    fs.fdatasyncSync(f.hostFd);
  }

  fd_sync(fd: number): void {
    const entry = this.fds.withRights(fd, Rights.FD_SYNC);
    if (entry.kind === 'file' || entry.kind === 'directory') fs.fsyncSync(entry.hostFd);
  }

  fd_fdstat_get(fd: number, ptr: number): void {
    const entry = this.fds.get(fd);
    this.mem.u8(ptr, entry.filetype);
    this.mem.u8(ptr + 1, 0);
    this.mem.u16(ptr + 2, entry.fdflags);
    this.mem.u32(ptr + 4, 0);
    this.mem.u64(ptr + 8, entry.rightsBase);
    this.mem.u64(ptr + 16, entry.rightsInheriting);
  }

  fd_fdstat_set_flags(fd: number, flags: number): void {
    const entry = this.fds.withRights(fd, Rights.FD_FDSTAT_SET_FLAGS);
    if (flags & ~0x1f) throw new WasiError(Errno.INVAL);
    // Synchronous-I/O flags cannot be changed on an open file on Linux either.
    if (flags & (FdFlags.DSYNC | FdFlags.RSYNC | FdFlags.SYNC)) throw new WasiError(Errno.NOTSUP);
    if (flags & FdFlags.APPEND) this.mutable(entry);
    entry.fdflags = flags;
  }

  fd_fdstat_set_rights(fd: number, base: bigint, inheriting: bigint): void {
    const entry = this.fds.get(fd);
    if ((base & ~entry.rightsBase) !== 0n || (inheriting & ~entry.rightsInheriting) !== 0n) {
      throw new WasiError(Errno.NOTCAPABLE, 'rights can only be dropped');
    }
    entry.rightsBase = base;
    entry.rightsInheriting = inheriting;
  }

  fd_filestat_get(fd: number, ptr: number): void {
    const entry = this.fds.withRights(fd, Rights.FD_FILESTAT_GET);
    if (entry.kind === 'file' || entry.kind === 'directory') {
      this.writeFilestat(ptr, fs.fstatSync(entry.hostFd, { bigint: true }));
      return;
    }
    this.mem.bytes(ptr, 64).fill(0);
    this.mem.u8(ptr + 16, entry.filetype);
  }

  fd_filestat_set_size(fd: number, size: bigint): void {
    const f = this.file(fd, Rights.FD_FILESTAT_SET_SIZE);
    this.mutable(f);
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new WasiError(Errno.FBIG);
    const old = fs.fstatSync(f.hostFd).size;
    if (Number(size) > old) this.grow(Number(size) - old, 'fd_filestat_set_size', f.hostFd);
    fs.ftruncateSync(f.hostFd, Number(size));
    if (Number(size) < old) this.shrink(old - Number(size));
  }

  fd_filestat_set_times(fd: number, atim: bigint, mtim: bigint, flags: number): void {
    const entry = this.fds.withRights(fd, Rights.FD_FILESTAT_SET_TIMES);
    this.mutable(entry);
    if (entry.kind !== 'file' && entry.kind !== 'directory') throw new WasiError(Errno.BADF);
    const [a, m] = this.times(atim, mtim, flags);
    setFdTimes(entry.hostFd, a, m);
  }

  fd_pread(fd: number, iovs: number, iovsLen: number, offset: bigint, nreadPtr: number): void {
    const f = this.file(fd, Rights.FD_READ | Rights.FD_SEEK);
    this.mem.u32(nreadPtr, this.readAt(f, iovs, iovsLen, offset));
  }

  fd_pwrite(fd: number, iovs: number, iovsLen: number, offset: bigint, nwrittenPtr: number): void {
    const f = this.file(fd, Rights.FD_WRITE | Rights.FD_SEEK);
    this.mutable(f);
    // Like Linux pwrite on an O_APPEND file, an append-mode descriptor writes at the end.
    const at = f.fdflags & FdFlags.APPEND ? fs.fstatSync(f.hostFd, { bigint: true }).size : offset;
    this.mem.u32(nwrittenPtr, this.writeAt(f, iovs, iovsLen, at));
  }

  fd_read(fd: number, iovs: number, iovsLen: number, nreadPtr: number, stdin: (into: Uint8Array) => number): void {
    const entry = this.fds.get(fd);
    if (entry.kind === 'stdin') {
      if (!(entry.rightsBase & Rights.FD_READ)) throw new WasiError(Errno.NOTCAPABLE);
      let total = 0;
      for (const buf of this.mem.iovecs(iovs, iovsLen)) {
        if (buf.length === 0) continue;
        const n = stdin(buf);
        total += n;
        if (n < buf.length) break;
      }
      this.mem.u32(nreadPtr, total);
      return;
    }
    const f = this.file(fd, Rights.FD_READ);
    const n = this.readAt(f, iovs, iovsLen, f.position);
    f.position += BigInt(n);
    this.mem.u32(nreadPtr, n);
  }

  fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): void {
    const entry = this.fds.get(fd);
    if (entry.kind === 'output') {
      if (!(entry.rightsBase & Rights.FD_WRITE)) throw new WasiError(Errno.NOTCAPABLE);
      let total = 0;
      for (const buf of this.mem.iovecs(iovs, iovsLen)) {
        entry.sink.write(buf);
        total += buf.length;
      }
      this.mem.u32(nwrittenPtr, total);
      return;
    }
    const f = this.file(fd, Rights.FD_WRITE);
    this.mutable(f);
    if (f.fdflags & FdFlags.APPEND) f.position = fs.fstatSync(f.hostFd, { bigint: true }).size;
    const n = this.writeAt(f, iovs, iovsLen, f.position);
    f.position += BigInt(n);
    this.mem.u32(nwrittenPtr, n);
  }

  private readAt(f: FileDescriptor, iovs: number, iovsLen: number, offset: bigint): number {
    let total = 0;
    let at = offset;
    for (const buf of this.mem.iovecs(iovs, iovsLen)) {
      if (buf.length === 0) continue;
      const n = fs.readSync(f.hostFd, buf, 0, buf.length, Number(at));
      total += n;
      at += BigInt(n);
      if (n < buf.length) break;
    }
    return total;
  }

  private writeAt(f: FileDescriptor, iovs: number, iovsLen: number, offset: bigint): number {
    let total = 0;
    let at = offset;
    const bufs = this.mem.iovecs(iovs, iovsLen);
    const length = bufs.reduce((n, b) => n + b.length, 0);
    this.grow(growthTo(f.hostFd, offset + BigInt(length)), 'write to a file', f.hostFd);
    for (const buf of bufs) {
      let done = 0;
      while (done < buf.length) {
        const n = fs.writeSync(f.hostFd, buf, done, buf.length - done, Number(at));
        done += n;
        at += BigInt(n);
      }
      total += done;
    }
    return total;
  }

  fd_prestat_get(fd: number, ptr: number): void {
    const entry = this.fds.get(fd);
    if (entry.kind !== 'directory' || entry.preopenName === undefined) throw new WasiError(Errno.BADF);
    this.mem.u8(ptr, PREOPENTYPE_DIR);
    this.mem.u32(ptr + 4, encodeUtf8(entry.preopenName).length);
  }

  fd_prestat_dir_name(fd: number, ptr: number, len: number): void {
    const entry = this.fds.get(fd);
    if (entry.kind !== 'directory' || entry.preopenName === undefined) throw new WasiError(Errno.BADF);
    const name = encodeUtf8(entry.preopenName);
    if (len < name.length) throw new WasiError(Errno.NAMETOOLONG);
    this.mem.bytes(ptr, name.length).set(name);
  }

  fd_readdir(fd: number, buf: number, bufLen: number, cookie: bigint, usedPtr: number): void {
    const dir = this.fds.directory(fd, Rights.FD_READDIR);
    if (cookie === 0n || !dir.listing) dir.listing = this.snapshotDirectory(dir.hostFd);
    const listing = dir.listing;
    const out = this.mem.bytes(buf, bufLen);
    let used = 0;
    for (let i = Number(cookie); i < listing.length && used < bufLen; i++) {
      const entry = listing[i]!;
      const name = encodeUtf8(entry.name);
      const record = new Uint8Array(24 + name.length);
      const view = new DataView(record.buffer);
      view.setBigUint64(0, BigInt(i + 1), true);
      view.setBigUint64(8, entry.ino, true);
      view.setUint32(16, name.length, true);
      view.setUint8(20, entry.filetype);
      record.set(name, 24);
      // The spec lets the last entry be cut short; the guest then knows to call again.
      const take = Math.min(record.length, bufLen - used);
      out.set(record.subarray(0, take), used);
      used += take;
    }
    this.mem.u32(usedPtr, used);
  }

  private snapshotDirectory(hostFd: number): DirEntrySnapshot[] {
    const base = procPath(hostFd);
    const entries: DirEntrySnapshot[] = [
      { name: '.', filetype: Filetype.DIRECTORY, ino: fs.statSync(`${base}/.`, { bigint: true }).ino },
      { name: '..', filetype: Filetype.DIRECTORY, ino: 0n },
    ];
    for (const dirent of fs.readdirSync(base, { withFileTypes: true })) {
      let ino = 0n;
      try { ino = fs.lstatSync(`${base}/${dirent.name}`, { bigint: true }).ino; } catch { /* raced away */ }
      entries.push({ name: dirent.name, filetype: filetypeOf(dirent as unknown as fs.Stats), ino });
    }
    return entries;
  }

  fd_seek(fd: number, offset: bigint, whence: number, newOffsetPtr: number): void {
    const entry = this.fds.get(fd);
    if (entry.kind === 'directory') throw new WasiError(Errno.BADF);
    const rights = offset === 0n && whence === Whence.CUR ? Rights.FD_TELL | Rights.FD_SEEK : Rights.FD_SEEK;
    if ((entry.rightsBase & rights) === 0n) throw new WasiError(Errno.NOTCAPABLE);
    if (entry.kind !== 'file') throw new WasiError(Errno.SPIPE);
    let base: bigint;
    if (whence === Whence.SET) base = 0n;
    else if (whence === Whence.CUR) base = entry.position;
    else if (whence === Whence.END) base = fs.fstatSync(entry.hostFd, { bigint: true }).size;
    else throw new WasiError(Errno.INVAL);
    const next = base + offset;
    if (next < 0n) throw new WasiError(Errno.INVAL);
    entry.position = next;
    this.mem.u64(newOffsetPtr, next);
  }

  fd_tell(fd: number, ptr: number): void {
    const entry = this.fds.get(fd);
    if (entry.kind === 'directory') throw new WasiError(Errno.BADF);
    if ((entry.rightsBase & Rights.FD_TELL) === 0n) throw new WasiError(Errno.NOTCAPABLE);
    if (entry.kind !== 'file') throw new WasiError(Errno.SPIPE);
    this.mem.u64(ptr, entry.position);
  }

  // ---- path_* ---------------------------------------------------------------------------------

  path_create_directory(fd: number, pathPtr: number, pathLen: number): void {
    this.withPath(fd, Rights.PATH_CREATE_DIRECTORY, pathPtr, pathLen, false, true, (r) => {
      if (r.name === '.') throw new WasiError(Errno.EXIST);
      this.newEntry('create a directory', r.parentFd, () => fs.mkdirSync(r.hostPath));
    });
  }

  path_filestat_get(fd: number, flags: number, pathPtr: number, pathLen: number, ptr: number): void {
    const follow = (flags & LookupFlags.SYMLINK_FOLLOW) !== 0;
    this.withPath(fd, Rights.PATH_FILESTAT_GET, pathPtr, pathLen, follow, false, (r) => {
      const st = fs.lstatSync(r.hostPath, { bigint: true });
      if (r.trailingSlash && !st.isDirectory()) throw new WasiError(Errno.NOTDIR);
      this.writeFilestat(ptr, st);
    });
  }

  path_filestat_set_times(fd: number, flags: number, pathPtr: number, pathLen: number,
    atim: bigint, mtim: bigint, fstFlags: number): void {
    const follow = (flags & LookupFlags.SYMLINK_FOLLOW) !== 0;
    const [a, m] = this.times(atim, mtim, fstFlags);
    // The walk already expanded any symlink we were asked to follow, so the final name is set as is.
    this.withPath(fd, Rights.PATH_FILESTAT_SET_TIMES, pathPtr, pathLen, follow, true, (r) => {
      setPathTimes(r.hostPath, a, m, false);
    });
  }

  path_link(oldFd: number, oldFlags: number, oldPtr: number, oldLen: number,
    newFd: number, newPtr: number, newLen: number): void {
    const follow = (oldFlags & LookupFlags.SYMLINK_FOLLOW) !== 0;
    this.withPath(oldFd, Rights.PATH_LINK_SOURCE, oldPtr, oldLen, follow, true, (source) => {
      this.withPath(newFd, Rights.PATH_LINK_TARGET, newPtr, newLen, false, true, (target) => {
        // Our resolved names drop trailing slashes, so reproduce what linkat(2) says about them.
        if (source.trailingSlash && !fs.lstatSync(source.hostPath).isDirectory()) throw new WasiError(Errno.NOTDIR);
        if (target.trailingSlash) throw new WasiError(fs.existsSync(target.hostPath) ? Errno.EXIST : Errno.NOENT);
        this.newEntry('create a link', target.parentFd, () => fs.linkSync(source.hostPath, target.hostPath));
      });
    });
  }

  path_open(dirFd: number, lookupFlags: number, pathPtr: number, pathLen: number, oflags: number,
    rightsBase: bigint, rightsInheriting: bigint, fdflags: number, openedPtr: number): void {
    const dir = this.fds.directory(dirFd, Rights.PATH_OPEN);
    const creating = (oflags & OFlags.CREAT) !== 0;
    const truncating = (oflags & OFlags.TRUNC) !== 0;
    if (creating && !(dir.rightsBase & Rights.PATH_CREATE_FILE)) throw new WasiError(Errno.NOTCAPABLE);
    if (truncating && !(dir.rightsBase & Rights.PATH_FILESTAT_SET_SIZE)) throw new WasiError(Errno.NOTCAPABLE);
    if ((oflags & OFlags.DIRECTORY) && (creating || truncating)) throw new WasiError(Errno.INVAL);
    if (fdflags & (FdFlags.DSYNC | FdFlags.RSYNC | FdFlags.SYNC) && dir.readOnly) throw new WasiError(Errno.NOTCAPABLE);

    // A descriptor never holds more than its parent lets it inherit.
    const base = rightsBase & dir.rightsInheriting;
    const inheriting = rightsInheriting & dir.rightsInheriting;
    const wantsWrite = (base & (Rights.FD_WRITE | Rights.FD_ALLOCATE | Rights.FD_FILESTAT_SET_SIZE)) !== 0n;
    // On a read-only preopen, asking for write access at all is refused here, not at the first write.
    const asksWrite = ((base | rightsBase) & (Rights.FD_WRITE | Rights.FD_ALLOCATE | Rights.FD_FILESTAT_SET_SIZE)) !== 0n;
    if (dir.readOnly && (creating || truncating || (fdflags & FdFlags.APPEND) || asksWrite)) {
      throw new WasiError(Errno.NOTCAPABLE, 'read-only preopen');
    }
    const wantsRead = (base & (Rights.FD_READ | Rights.FD_READDIR)) !== 0n;

    let flags = O_NOFOLLOW;
    if (wantsWrite) flags |= wantsRead ? O_RDWR : O_WRONLY;
    else flags |= O_RDONLY;
    if (creating) flags |= O_CREAT;
    if (oflags & OFlags.EXCL) flags |= O_EXCL;
    if (truncating) flags |= O_TRUNC;
    if (oflags & OFlags.DIRECTORY) flags |= O_DIRECTORY;

    const follow = (lookupFlags & LookupFlags.SYMLINK_FOLLOW) !== 0;
    const path = this.mem.string(pathPtr, pathLen);
    const resolved = resolveConfined(dir.hostFd, path, follow);
    let hostFd: number;
    try {
      if (resolved.trailingSlash) flags |= O_DIRECTORY;
      // Disk: a new entry costs ENTRY_BYTES; truncating gives the old size back.
      let before: fs.Stats | undefined;
      if (creating || truncating) {
        try { before = fs.lstatSync(resolved.hostPath); } catch { /* does not exist yet */ }
      }
      const open = () => this.fds.openHost(`open ${path}`, () => openNoFollow(resolved, flags));
      hostFd = creating && !before ? this.newEntry(`create ${path}`, resolved.parentFd, open) : open();
      if (truncating && before?.isFile()) this.shrink(before.size);
    } finally {
      resolved.release();
    }
    const st = fs.fstatSync(hostFd);
    const filetype = filetypeOf(st);
    if (st.isDirectory()) {
      if (wantsWrite) { this.fds.resources.fileClosing(hostFd); fs.closeSync(hostFd); this.fds.resources.freeFd(); throw new WasiError(Errno.ISDIR); }
      this.mem.u32(openedPtr, this.fds.insert({
        kind: 'directory', hostFd, filetype, fdflags, readOnly: dir.readOnly,
        rightsBase: base & DIRECTORY_RIGHTS & (dir.readOnly ? ~WRITE_RIGHTS : -1n),
        rightsInheriting: inheriting & (dir.readOnly ? ~WRITE_RIGHTS : -1n),
      }));
      return;
    }
    this.mem.u32(openedPtr, this.fds.insert({
      kind: 'file', hostFd, filetype, fdflags, readOnly: dir.readOnly, position: 0n,
      rightsBase: base & FILE_RIGHTS & (dir.readOnly ? ~WRITE_RIGHTS : -1n),
      rightsInheriting: inheriting & (dir.readOnly ? ~WRITE_RIGHTS : -1n),
    }));
  }

  path_readlink(fd: number, pathPtr: number, pathLen: number, buf: number, bufLen: number, usedPtr: number): void {
    this.withPath(fd, Rights.PATH_READLINK, pathPtr, pathLen, false, false, (r) => {
      const target = encodeUtf8(fs.readlinkSync(r.hostPath));
      const n = Math.min(target.length, bufLen);
      this.mem.bytes(buf, n).set(target.subarray(0, n));
      this.mem.u32(usedPtr, n);
    });
  }

  path_remove_directory(fd: number, pathPtr: number, pathLen: number): void {
    this.withPath(fd, Rights.PATH_REMOVE_DIRECTORY, pathPtr, pathLen, false, true, (r) => {
      if (r.name === '.') throw new WasiError(Errno.INVAL);
      fs.rmdirSync(r.hostPath);
      this.shrink(ENTRY_BYTES);
    });
  }

  path_rename(oldFd: number, oldPtr: number, oldLen: number, newFd: number, newPtr: number, newLen: number): void {
    this.withPath(oldFd, Rights.PATH_RENAME_SOURCE, oldPtr, oldLen, false, true, (source) => {
      this.withPath(newFd, Rights.PATH_RENAME_TARGET, newPtr, newLen, false, true, (target) => {
        if (source.name === '.' || target.name === '.') throw new WasiError(Errno.BUSY);
        if (source.trailingSlash || target.trailingSlash) {
          if (!fs.lstatSync(source.hostPath).isDirectory()) throw new WasiError(Errno.NOTDIR);
        }
        const replaced = this.fds.resources.removalRefund(target.hostPath);
        fs.renameSync(source.hostPath, target.hostPath);
        this.shrink(replaced);
      });
    });
  }

  path_symlink(oldPtr: number, oldLen: number, fd: number, newPtr: number, newLen: number): void {
    const target = this.mem.string(oldPtr, oldLen);
    this.withPath(fd, Rights.PATH_SYMLINK, newPtr, newLen, false, true, (r) => {
      // A link may hold any text, but one pointing at an absolute host path is refused outright:
      // following it is impossible inside the sandbox, and other readers of the directory might not.
      if (target.startsWith('/')) throw new WasiError(Errno.NOTCAPABLE, 'absolute symlink target');
      if (r.trailingSlash) throw new WasiError(fs.existsSync(r.hostPath) ? Errno.EXIST : Errno.NOENT);
      this.newEntry('create a symlink', r.parentFd, () => fs.symlinkSync(target, r.hostPath));
    });
  }

  path_unlink_file(fd: number, pathPtr: number, pathLen: number): void {
    this.withPath(fd, Rights.PATH_UNLINK_FILE, pathPtr, pathLen, false, true, (r) => {
      if (r.trailingSlash) {
        const st = fs.lstatSync(r.hostPath);
        throw new WasiError(st.isDirectory() ? Errno.ISDIR : Errno.NOTDIR);
      }
      const refund = this.fds.resources.removalRefund(r.hostPath);
      fs.unlinkSync(r.hostPath);
      this.shrink(refund);
    });
  }

  /** For poll_oneoff: bytes readable from a file descriptor now. */
  readableBytes(entry: Descriptor): bigint {
    if (entry.kind !== 'file') return 0n;
    const size = fs.fstatSync(entry.hostFd, { bigint: true }).size;
    return size > entry.position ? size - entry.position : 0n;
  }
}

/** Opens the final component relative to its verified parent; O_NOFOLLOW is always in `flags`,
 * so a symlink there (asked for with nofollow, or swapped in meanwhile) fails with ELOOP. */
function openNoFollow(resolved: ResolvedPath, flags: number): number {
  return fs.openSync(resolved.hostPath, flags);
}
