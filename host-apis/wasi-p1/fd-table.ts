// The guest's file descriptor table. Guest fd numbers are ours; each maps to a host resource.
import fs from 'node:fs';
import { Errno, Filetype } from './constants.js';
import { WasiError } from './errors.js';
import type { InputSource, OutputSink } from './stdio.js';
import { unlimitedResources, type InstanceResources } from '../limits/resource-ledger.js';

export interface DirEntrySnapshot {
  name: string;
  filetype: number;
  ino: bigint;
}

interface DescriptorBase {
  filetype: number;
  rightsBase: bigint;
  rightsInheriting: bigint;
  fdflags: number;
  /** Set on everything reached through a read-only preopen; checked before any mutation. */
  readOnly: boolean;
}

export interface StdinDescriptor extends DescriptorBase { kind: 'stdin'; source: InputSource }
export interface OutputDescriptor extends DescriptorBase { kind: 'output'; sink: OutputSink }
export interface FileDescriptor extends DescriptorBase {
  kind: 'file';
  hostFd: number;
  /** We keep the offset ourselves and use positional I/O: Node exposes no lseek. */
  position: bigint;
}
export interface DirectoryDescriptor extends DescriptorBase {
  kind: 'directory';
  hostFd: number;
  /** Guest-visible name when this is a preopen (fd_prestat_*). */
  preopenName?: string;
  listing?: DirEntrySnapshot[];
}

export type Descriptor = StdinDescriptor | OutputDescriptor | FileDescriptor | DirectoryDescriptor;

/** Every host descriptor in the table is charged to the instance (resource-ledger.ts). */
export class FdTable {
  private readonly entries = new Map<number, Descriptor>();

  constructor(readonly resources: InstanceResources = unlimitedResources()) {}

  /** Opens a host descriptor with the charge taken first (EMFILE at a cap), given back on failure. */
  openHost(what: string, open: () => number): number {
    this.resources.takeFd(what);
    try {
      const fd = open();
      this.resources.fileOpened(fd);
      return fd;
    } catch (err) {
      this.resources.freeFd();
      throw err;
    }
  }

  get(fd: number): Descriptor {
    const entry = this.entries.get(fd);
    if (!entry) throw new WasiError(Errno.BADF, `fd ${fd} is not open`);
    return entry;
  }

  /** Looks up `fd` and checks that its base rights include `rights`. */
  withRights(fd: number, rights: bigint): Descriptor {
    const entry = this.get(fd);
    if ((entry.rightsBase & rights) !== rights) throw new WasiError(Errno.NOTCAPABLE);
    return entry;
  }

  directory(fd: number, rights: bigint): DirectoryDescriptor {
    const entry = this.get(fd);
    if (entry.kind !== 'directory') throw new WasiError(Errno.NOTDIR);
    if ((entry.rightsBase & rights) !== rights) throw new WasiError(Errno.NOTCAPABLE);
    return entry;
  }

  insert(entry: Descriptor, at?: number): number {
    let fd = at ?? 0;
    if (at === undefined) while (this.entries.has(fd)) fd++;
    this.entries.set(fd, entry);
    return fd;
  }

  close(fd: number): void {
    const entry = this.get(fd);
    this.entries.delete(fd);
    this.releaseHost(entry);
  }

  renumber(from: number, to: number): void {
    const source = this.get(from);
    const target = this.get(to);
    if (from === to) return;
    this.releaseHost(target);
    this.entries.set(to, source);
    this.entries.delete(from);
  }

  closeAll(): void {
    for (const entry of this.entries.values()) this.releaseHost(entry);
    this.entries.clear();
  }

  private releaseHost(entry: Descriptor): void {
    if (entry.kind === 'file' || entry.kind === 'directory') {
      this.resources.fileClosing(entry.hostFd);
      try { fs.closeSync(entry.hostFd); } catch { /* already gone: nothing to release */ }
      this.resources.freeFd();
    }
  }
}

export function filetypeOf(stats: fs.Stats | fs.BigIntStats): number {
  if (stats.isFile()) return Filetype.REGULAR_FILE;
  if (stats.isDirectory()) return Filetype.DIRECTORY;
  if (stats.isSymbolicLink()) return Filetype.SYMBOLIC_LINK;
  if (stats.isCharacterDevice()) return Filetype.CHARACTER_DEVICE;
  if (stats.isBlockDevice()) return Filetype.BLOCK_DEVICE;
  if (stats.isSocket()) return Filetype.SOCKET_STREAM;
  return Filetype.UNKNOWN;
}
