// wasi:filesystem (types, preopens) for one component instance, on the same confinement as our
// preview1: every path is resolved by resolveConfined (component walk, /proc/self/fd post-check,
// O_NOFOLLOW on the last name), so `..`, absolute paths and symlinks cannot leave a preopen.
import fs from 'node:fs';
import { openPreopenDirectory, type DirectoryHandle } from '../capabilities/directory-handle.js';
import { resolveConfined, procPath, type ResolvedPath } from '../wasi-p1/confined-path.js';
import { WasiError } from '../wasi-p1/errors.js';
import { Errno } from '../wasi-p1/constants.js';
import { setFdTimes, setPathTimes, type TimeSpec } from '../native/fs-times.js';
import { ENTRY_BYTES, growthTo } from '../limits/disk-usage.js';
import { unlimitedResources, type InstanceResources } from '../limits/resource-ledger.js';
import { fsCall, fsErrorCode, GuestError } from './errors.js';
import type { Io } from './io.js';

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_DIRECTORY, O_NOFOLLOW } = fs.constants;

/** A granted directory; with a `handle` (the checker's open fd) it is never opened by path. */
export interface Preopen { guestPath: string; hostPath: string; readOnly: boolean; handle?: DirectoryHandle }

interface Datetime { seconds: bigint; nanoseconds: number }
type NewTimestamp = { tag: 'no-change' } | { tag: 'now' } | { tag: 'timestamp'; val: Datetime };
type DescriptorType = 'unknown' | 'block-device' | 'character-device' | 'directory' | 'fifo' | 'symbolic-link' | 'regular-file' | 'socket';

function typeOf(st: fs.Stats | fs.BigIntStats): DescriptorType {
  if (st.isFile()) return 'regular-file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symbolic-link';
  if (st.isCharacterDevice()) return 'character-device';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'unknown';
}

const datetime = (ns: bigint): Datetime => ({ seconds: ns / 1_000_000_000n, nanoseconds: Number(ns % 1_000_000_000n) });

function statOf(st: fs.BigIntStats) {
  return {
    type: typeOf(st), linkCount: st.nlink, size: st.size,
    dataAccessTimestamp: datetime(st.atimeNs), dataModificationTimestamp: datetime(st.mtimeNs), statusChangeTimestamp: datetime(st.ctimeNs),
  };
}

function timeSpec(t: NewTimestamp): TimeSpec {
  if (t.tag === 'no-change') return { kind: 'omit' };
  if (t.tag === 'now') return { kind: 'now' };
  return { kind: 'set', ns: t.val.seconds * 1_000_000_000n + BigInt(t.val.nanoseconds) };
}

/** Told about every refused escape or write, for the audit log. */
export type FsDenied = (attempted: string, reason: string) => void;

export function createFilesystem(io: Io, preopens: readonly Preopen[], denied: FsDenied = () => {}, resources: InstanceResources = unlimitedResources()) {
  // Every open descriptor and every byte the guest adds under its data root is charged to its
  // vendor (resource-ledger.ts); a cap answers `insufficient-memory` (descriptors), `quota` (the
  // vendor's disk quota) or `insufficient-space` (the device's reserve), never a host failure.
  const open = new Set<number>();
  const track = (fd: number) => (open.add(fd), resources.fileOpened(fd), fd);
  /** Closes a descriptor the guest held: its charge goes back, and a removed file's bytes at its last close. */
  const release = (fd: number) => {
    resources.fileClosing(fd);
    fs.closeSync(fd);
    resources.freeFd();
  };
  /** Opens with the descriptor charged first, and given back if the open fails. */
  const openCharged = (what: string, openFd: () => number): number => {
    resources.takeFd(what);
    try {
      return track(openFd());
    } catch (err) {
      resources.freeFd();
      throw err;
    }
  };
  const grow = (n: number, what: string, fd: number) => resources.growDisk(n, what, procPath(fd));

  class DirectoryEntryStream {
    #entries: { type: DescriptorType; name: string }[];
    constructor(entries: { type: DescriptorType; name: string }[]) {
      resources.takeHandle('directory-entry-stream');
      this.#entries = entries;
    }
    readDirectoryEntry(): { type: DescriptorType; name: string } | undefined {
      return this.#entries.shift();
    }
    #dropped = false;
    [Symbol.dispose](): void {
      if (!this.#dropped) resources.freeHandle();
      this.#dropped = true;
      this.#entries = [];
    }
  }

  class Descriptor {
    #fd: number;
    constructor(fd: number, readonly isDirectory: boolean, readonly readOnly: boolean, readonly canRead: boolean, readonly canWrite: boolean,
      /** A preopen's fd belongs to the instance: the guest may drop and re-fetch its handles. */
      readonly shared = false) {
      resources.takeHandle('descriptor');
      this.#fd = fd;
    }

    get hostFd(): number {
      if (this.#fd < 0) throw new GuestError('bad-descriptor');
      return this.#fd;
    }

    #dir(): number {
      if (!this.isDirectory) throw new GuestError('not-directory');
      return this.hostFd;
    }

    #mutable(what = 'write'): void {
      if (!this.readOnly) return;
      denied(what, 'the fs grant is read-only');
      throw new GuestError('read-only');
    }

    #at<T>(path: string, follow: boolean, fn: (r: ResolvedPath) => T): T {
      return fsCall(() => {
        let r: ResolvedPath;
        try {
          r = resolveConfined(this.#dir(), path, follow);
        } catch (err) {
          if (err instanceof WasiError && err.errno === Errno.NOTCAPABLE) denied(path, err.message);
          throw err;
        }
        try {
          return fn(r);
        } finally {
          r.release();
        }
      });
    }

    readViaStream(offset: bigint) {
      if (this.isDirectory) throw new GuestError('is-directory');
      if (!this.canRead) throw new GuestError('bad-descriptor');
      let position = offset;
      const fd = this.hostFd;
      return new io.InputStream({
        read: (max) => {
          const buf = Buffer.alloc(max);
          const n = fs.readSync(fd, buf, 0, max, position);
          position += BigInt(n);
          return n === 0 && max > 0 ? null : buf.subarray(0, n);
        },
      });
    }

    writeViaStream(offset: bigint) {
      if (this.isDirectory) throw new GuestError('is-directory');
      if (!this.canWrite) throw new GuestError('bad-descriptor');
      let position = offset;
      const fd = this.hostFd;
      return new io.OutputStream({
        write: (bytes) => {
          grow(growthTo(fd, position + BigInt(bytes.length)), 'write to a file', fd);
          position += BigInt(fs.writeSync(fd, bytes, 0, bytes.length, Number(position)));
        },
      });
    }

    appendViaStream() {
      if (this.isDirectory) throw new GuestError('is-directory');
      if (!this.canWrite) throw new GuestError('bad-descriptor');
      const fd = this.hostFd;
      return new io.OutputStream({
        write: (bytes) => {
          const size = fs.fstatSync(fd).size;
          grow(bytes.length, 'append to a file', fd);
          fs.writeSync(fd, bytes, 0, bytes.length, size);
        },
      });
    }

    advise(): void {}
    syncData(): void {
      fsCall(() => fs.fdatasyncSync(this.hostFd));
    }
    sync(): void {
      fsCall(() => fs.fsyncSync(this.hostFd));
    }
    getFlags() {
      return { read: this.canRead, write: this.canWrite, mutateDirectory: this.isDirectory && !this.readOnly };
    }
    getType(): DescriptorType {
      return fsCall(() => typeOf(fs.fstatSync(this.hostFd)));
    }
    setSize(size: bigint): void {
      if (!this.canWrite) throw new GuestError('bad-descriptor');
      fsCall(() => {
        const fd = this.hostFd;
        const old = fs.fstatSync(fd).size;
        if (Number(size) > old) grow(Number(size) - old, 'extend a file', fd);
        fs.ftruncateSync(fd, Number(size));
        if (Number(size) < old) resources.shrinkDisk(old - Number(size));
      });
    }
    setTimes(atime: NewTimestamp, mtime: NewTimestamp): void {
      this.#mutable();
      fsCall(() => setFdTimes(this.hostFd, timeSpec(atime), timeSpec(mtime)));
    }
    read(length: bigint, offset: bigint): [Uint8Array, boolean] {
      if (this.isDirectory) throw new GuestError('is-directory');
      if (!this.canRead) throw new GuestError('bad-descriptor');
      return fsCall(() => {
        const buf = Buffer.alloc(Number(length > 1n << 24n ? 1n << 24n : length));
        const n = fs.readSync(this.hostFd, buf, 0, buf.length, offset);
        return [buf.subarray(0, n), n < buf.length || offset + BigInt(n) >= fs.fstatSync(this.hostFd, { bigint: true }).size];
      });
    }
    write(buffer: Uint8Array, offset: bigint): bigint {
      if (this.isDirectory) throw new GuestError('is-directory');
      if (!this.canWrite) throw new GuestError('bad-descriptor');
      return fsCall(() => {
        grow(growthTo(this.hostFd, offset + BigInt(buffer.length)), 'write to a file', this.hostFd);
        return BigInt(fs.writeSync(this.hostFd, buffer, 0, buffer.length, Number(offset)));
      });
    }
    readDirectory() {
      const fd = this.#dir();
      return fsCall(() => new DirectoryEntryStream(fs.readdirSync(procPath(fd), { withFileTypes: true })
        .map((d) => ({ name: d.name, type: typeOf(d as unknown as fs.Stats) }))));
    }
    createDirectoryAt(path: string): void {
      this.#mutable();
      this.#at(path, false, (r) => {
        grow(ENTRY_BYTES, 'create a directory', r.parentFd);
        try {
          fs.mkdirSync(r.hostPath);
        } catch (err) {
          resources.shrinkDisk(ENTRY_BYTES);
          throw err;
        }
      });
    }
    stat() {
      return fsCall(() => statOf(fs.fstatSync(this.hostFd, { bigint: true })));
    }
    statAt(flags: { symlinkFollow?: boolean }, path: string) {
      return this.#at(path, !!flags.symlinkFollow, (r) => statOf(fs.lstatSync(r.hostPath, { bigint: true })));
    }
    setTimesAt(flags: { symlinkFollow?: boolean }, path: string, atime: NewTimestamp, mtime: NewTimestamp): void {
      this.#mutable();
      this.#at(path, !!flags.symlinkFollow, (r) => setPathTimes(r.hostPath, timeSpec(atime), timeSpec(mtime), false));
    }
    linkAt(_flags: { symlinkFollow?: boolean }, oldPath: string, target: Descriptor, newPath: string): void {
      this.#mutable();
      target.#mutable();
      this.#at(oldPath, false, (from) => target.#at(newPath, false, (to) => {
        grow(ENTRY_BYTES, 'create a link', to.parentFd);
        try {
          fs.linkSync(from.hostPath, to.hostPath);
        } catch (err) {
          resources.shrinkDisk(ENTRY_BYTES);
          throw err;
        }
      }));
    }
    openAt(pathFlags: { symlinkFollow?: boolean }, path: string, openFlags: { create?: boolean; directory?: boolean; exclusive?: boolean; truncate?: boolean }, flags: { read?: boolean; write?: boolean; mutateDirectory?: boolean }) {
      const wantsWrite = !!flags.write || !!openFlags.create || !!openFlags.truncate;
      if (wantsWrite) this.#mutable(`open ${path} for writing`);
      if (openFlags.directory && (flags.write || openFlags.truncate)) throw new GuestError('invalid');
      return this.#at(path, !!pathFlags.symlinkFollow, (r) => {
        let mode = O_NOFOLLOW | (flags.write ? (flags.read ? O_RDWR : O_WRONLY) : O_RDONLY);
        if (openFlags.create) mode |= O_CREAT;
        if (openFlags.exclusive) mode |= O_EXCL;
        if (openFlags.truncate) mode |= O_TRUNC;
        if (openFlags.directory || r.trailingSlash) mode |= O_DIRECTORY;
        // Disk: a new entry costs ENTRY_BYTES; truncating gives the old size back.
        let before: fs.Stats | undefined;
        if (openFlags.create || openFlags.truncate) {
          try { before = fs.lstatSync(r.hostPath); } catch { /* does not exist yet */ }
        }
        const creates = !!openFlags.create && !before;
        if (creates) grow(ENTRY_BYTES, `create ${path}`, r.parentFd);
        let fd: number;
        try {
          fd = openCharged(`open ${path}`, () => fs.openSync(r.hostPath, mode));
        } catch (err) {
          if (creates) resources.shrinkDisk(ENTRY_BYTES);
          throw err;
        }
        if (openFlags.truncate && before?.isFile()) resources.shrinkDisk(before.size);
        const isDir = fs.fstatSync(fd).isDirectory();
        if (isDir && flags.write) {
          open.delete(fd);
          release(fd);
          throw new WasiError(Errno.ISDIR);
        }
        return new Descriptor(fd, isDir, this.readOnly, isDir || !!flags.read || !flags.write, !!flags.write);
      });
    }
    readlinkAt(path: string): string {
      return this.#at(path, false, (r) => fs.readlinkSync(r.hostPath));
    }
    removeDirectoryAt(path: string): void {
      this.#mutable();
      this.#at(path, false, (r) => {
        fs.rmdirSync(r.hostPath);
        resources.shrinkDisk(ENTRY_BYTES);
      });
    }
    renameAt(oldPath: string, target: Descriptor, newPath: string): void {
      this.#mutable();
      target.#mutable();
      this.#at(oldPath, false, (from) => target.#at(newPath, false, (to) => {
        const replaced = resources.removalRefund(to.hostPath);
        fs.renameSync(from.hostPath, to.hostPath);
        resources.shrinkDisk(replaced);
      }));
    }
    symlinkAt(oldPath: string, newPath: string): void {
      this.#mutable();
      // A link that points outside could never be followed by this guest, but it could mislead
      // another reader of the vendor's directory, so it is not created at all.
      if (oldPath.startsWith('/')) {
        denied(`symlink ${newPath} -> ${oldPath}`, 'absolute link targets are refused');
        throw new GuestError('not-permitted');
      }
      this.#at(newPath, false, (r) => {
        grow(ENTRY_BYTES, 'create a symlink', r.parentFd);
        try {
          fs.symlinkSync(oldPath, r.hostPath);
        } catch (err) {
          resources.shrinkDisk(ENTRY_BYTES);
          throw err;
        }
      });
    }
    unlinkFileAt(path: string): void {
      this.#mutable();
      this.#at(path, false, (r) => {
        if (r.trailingSlash) throw new WasiError(Errno.NOTDIR);
        const refund = resources.removalRefund(r.hostPath);
        fs.unlinkSync(r.hostPath);
        resources.shrinkDisk(refund);
      });
    }
    isSameObject(other: Descriptor): boolean {
      const a = fs.fstatSync(this.hostFd, { bigint: true });
      const b = fs.fstatSync(other.hostFd, { bigint: true });
      return a.dev === b.dev && a.ino === b.ino;
    }
    metadataHash() {
      return fsCall(() => {
        const st = fs.fstatSync(this.hostFd, { bigint: true });
        return { lower: st.ino, upper: st.dev };
      });
    }
    metadataHashAt(flags: { symlinkFollow?: boolean }, path: string) {
      return this.#at(path, !!flags.symlinkFollow, (r) => {
        const st = fs.lstatSync(r.hostPath, { bigint: true });
        return { lower: st.ino, upper: st.dev };
      });
    }
    [Symbol.dispose](): void {
      if (this.#fd === -2) return;
      if (!this.shared && this.#fd >= 0 && open.delete(this.#fd)) release(this.#fd);
      resources.freeHandle();
      this.#fd = -2;
    }
  }

  // Preopens are opened once, when the instance is built; a missing directory is a set-up error.
  let directories: (Preopen & { fd: number })[];
  try {
    directories = preopens.map((p) => ({ ...p, fd: openCharged(`preopen ${p.guestPath}`, () => openPreopenDirectory(p)) }));
  } catch (err) {
    for (const fd of open) release(fd); // none of them outlives a failed set-up
    open.clear();
    throw err;
  }

  return {
    types: {
      Descriptor, DirectoryEntryStream,
      // A stream error from a file (a write past the disk quota, say) carries its filesystem code;
      // the preview1 adapter asks for it to give the guest the right errno instead of EIO.
      filesystemErrorCode: (err: { cause?: unknown }) => (err?.cause === undefined ? undefined : fsErrorCode(err.cause)),
    },
    // Fresh handle objects each call: jco disposes an object when the guest drops its handle.
    preopens: { getDirectories: (): [Descriptor, string][] => directories.map((d) => [new Descriptor(d.fd, true, d.readOnly, true, false, true), d.guestPath]) },
    closeAll(): void {
      for (const fd of open) release(fd);
      open.clear();
    },
  };
}
