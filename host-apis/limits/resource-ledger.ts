// What one vendor's guests make the host hold, counted against that vendor and capped: host-side
// buffers (HTTP bodies, socket receive buffers, queued messages), handles (streams, pollables,
// sockets, requests, descriptors), open file descriptors, and bytes on disk under its data root.
//
// One ledger per vendor sandbox. Its totals live in a SharedArrayBuffer, so the sandbox thread
// (file system, HTTP, streams) and the supervisor (sockets, the message bus) charge the same
// counters without a round trip. Each instance charges through its own InstanceResources, which
// remembers what it holds and gives all of it back when the instance ends. Open descriptors are
// also counted device-wide (DeviceFdBudget), so all vendors together stay below the process limit
// with a reserve left for the daemon itself.
import fs from 'node:fs';
import { OpenFiles } from './open-files.js';

export interface ResourceLimits {
  /** Host-side buffers all the vendor's instances may hold at once, in bytes. */
  hostBytes: number;
  /** Live handles (resources of the component model) of one instance. */
  handlesPerInstance: number;
  /** Open file descriptors (files, directories, sockets) of one instance. */
  fdsPerInstance: number;
  /** ... and of all the vendor's instances together. */
  fdsPerVendor: number;
  /** Bytes under the vendor's data root (regular files' sizes + 4 KiB per other entry). */
  diskBytes: number;
  /** Free space writes must leave on the data root's file system (for the state database). */
  diskReserveBytes: number;
}

const MiB = 1024 * 1024;
export const DEFAULT_RESOURCE_LIMITS: ResourceLimits = {
  hostBytes: 32 * MiB, handlesPerInstance: 4096, fdsPerInstance: 256, fdsPerVendor: 1024,
  diskBytes: 256 * MiB, diskReserveBytes: 64 * MiB,
};
/** No limits: `bulkhead run` and tests of a single host API. */
export const UNLIMITED: ResourceLimits = {
  hostBytes: Number.MAX_SAFE_INTEGER, handlesPerInstance: Number.MAX_SAFE_INTEGER, fdsPerInstance: Number.MAX_SAFE_INTEGER,
  fdsPerVendor: Number.MAX_SAFE_INTEGER, diskBytes: Number.MAX_SAFE_INTEGER, diskReserveBytes: 0,
};

export type Resource = 'host-memory' | 'handles' | 'fds' | 'disk';

const ERRNO_NAME: Record<Resource, string> = { 'host-memory': 'ENOMEM', handles: 'ENOMEM', fds: 'EMFILE', disk: 'EDQUOT' };

/**
 * A cap was reached. Each host API turns it into its interface's own error; `code` is the host
 * errno name it stands for (EDQUOT, ENOSPC, EMFILE, ENOMEM), so the usual errno mapping applies.
 */
export class ResourceLimitError extends Error {
  readonly code: string;
  constructor(readonly resource: Resource, message: string, code?: string) {
    super(message);
    this.code = code ?? ERRNO_NAME[resource];
  }
}

/** Told about every refusal (the sandbox audits it, rate-limited). */
export type LimitReport = (resource: Resource, attempted: string, reason: string) => void;

const HOST_BYTES = 0;
const FDS = 1;
const DISK = 2;
const CELLS = 3;

function tryAdd(cells: BigInt64Array, cell: number, n: number, limit: number): boolean {
  for (;;) {
    const current = Atomics.load(cells, cell);
    if (Number(current) + n > limit) return false;
    if (Atomics.compareExchange(cells, cell, current, current + BigInt(n)) === current) return true;
  }
}

function sub(cells: BigInt64Array, cell: number, n: number): void {
  Atomics.sub(cells, cell, BigInt(n));
}

/** The soft limit on open files of this process (/proc/self/limits), or undefined if unknown. */
function processFdLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Descriptors all guests of the device may hold together: the process's soft limit minus a reserve
 * for the daemon (its database, its own sockets, starting sandboxes), a quarter of the limit and at
 * least 256. Shared by every sandbox.
 */
export class DeviceFdBudget {
  readonly #cells: BigInt64Array;
  constructor(readonly buffer: SharedArrayBuffer = DeviceFdBudget.create()) {
    this.#cells = new BigInt64Array(buffer);
  }
  static create(capacity?: number): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(16);
    const limit = processFdLimit() ?? 1024;
    new BigInt64Array(buffer)[1] = BigInt(capacity ?? Math.max(0, limit - Math.max(256, Math.floor(limit / 4))));
    return buffer;
  }
  get capacity(): number {
    return Number(Atomics.load(this.#cells, 1));
  }
  get used(): number {
    return Number(Atomics.load(this.#cells, 0));
  }
  take(): boolean {
    return tryAdd(this.#cells, 0, 1, this.capacity);
  }
  give(): void {
    sub(this.#cells, 0, 1);
  }
}

/** The buffers that make a ledger, for crossing to the sandbox thread. */
export interface LedgerBuffers { vendor: SharedArrayBuffer; device: SharedArrayBuffer }

export interface ResourceUsage { hostBytes: number; fds: number; diskBytes: number }

export class ResourceLedger {
  readonly #cells: BigInt64Array;
  readonly #device: DeviceFdBudget;
  /** Files the vendor's guests hold open on this thread: a removed file's bytes stay charged until the last closes. */
  readonly openFiles = new OpenFiles();

  constructor(readonly limits: ResourceLimits, readonly buffers: LedgerBuffers = { vendor: new SharedArrayBuffer(8 * CELLS), device: new DeviceFdBudget().buffer }) {
    this.#cells = new BigInt64Array(buffers.vendor);
    this.#device = new DeviceFdBudget(buffers.device);
  }

  usage(): ResourceUsage {
    return { hostBytes: Number(Atomics.load(this.#cells, HOST_BYTES)), fds: Number(Atomics.load(this.#cells, FDS)), diskBytes: Number(Atomics.load(this.#cells, DISK)) };
  }

  /** Sets the disk usage from a scan of the data root (at sandbox start). */
  setDiskUsage(bytes: number): void {
    Atomics.store(this.#cells, DISK, BigInt(bytes));
  }

  /**
   * An instance's accounting on this thread. `shared`: the instance's own counters (from
   * `InstanceResources.shared` on the other thread), so its per-instance descriptor cap covers the
   * files its sandbox opens and the sockets the supervisor holds for it together.
   */
  instance(instanceId: string, report: LimitReport = () => {}, shared?: SharedArrayBuffer): InstanceResources {
    return new InstanceResources(this, instanceId, report, shared);
  }

  /** @internal accounting primitives for InstanceResources */
  tryHostBytes(n: number): boolean { return tryAdd(this.#cells, HOST_BYTES, n, this.limits.hostBytes); }
  forceHostBytes(n: number): void { Atomics.add(this.#cells, HOST_BYTES, BigInt(n)); }
  freeHostBytes(n: number): void { sub(this.#cells, HOST_BYTES, n); }
  tryFd(): 'ok' | 'vendor' | 'device' {
    if (!tryAdd(this.#cells, FDS, 1, this.limits.fdsPerVendor)) return 'vendor';
    if (!this.#device.take()) {
      sub(this.#cells, FDS, 1);
      return 'device';
    }
    return 'ok';
  }
  freeFd(): void {
    sub(this.#cells, FDS, 1);
    this.#device.give();
  }
  get deviceFdCapacity(): number { return this.#device.capacity; }
  tryDisk(n: number): boolean { return tryAdd(this.#cells, DISK, n, this.limits.diskBytes); }
  freeDisk(n: number): void {
    // Never below zero: a file removed that the start-up scan did not see (written by the operator).
    for (;;) {
      const current = Atomics.load(this.#cells, DISK);
      const next = current > BigInt(n) ? current - BigInt(n) : 0n;
      if (Atomics.compareExchange(this.#cells, DISK, current, next) === current) return;
    }
  }
}

const mib = (n: number) => (n >= MiB ? `${+(n / MiB).toFixed(1)} MiB` : `${n} bytes`);

/** What one instance holds, charged to its vendor's ledger; `release()` at the instance's end. */
export class InstanceResources {
  #bytes = 0;
  #handles = 0;
  #fds = 0;
  #released = false;
  /** The instance's descriptors on every thread (cell 0), for its per-instance cap. */
  readonly #instanceFds: BigInt64Array;

  constructor(readonly ledger: ResourceLedger, readonly instanceId: string, readonly report: LimitReport,
    readonly shared: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    this.#instanceFds = new BigInt64Array(shared);
  }

  get limits(): ResourceLimits {
    return this.ledger.limits;
  }

  #refuse(resource: Resource, attempted: string, reason: string, code?: string): never {
    this.report(resource, attempted, reason);
    throw new ResourceLimitError(resource, reason, code);
  }

  /** Host-side buffer bytes; throws ResourceLimitError over the vendor's budget. */
  takeBytes(n: number, what: string): void {
    if (n <= 0) return;
    if (this.#released || !this.ledger.tryHostBytes(n)) {
      const used = this.ledger.usage().hostBytes;
      this.#refuse('host-memory', `hold ${mib(n)} more in ${what}`, `the vendor's host buffers would exceed ${mib(this.limits.hostBytes)} (${mib(used)} held)`);
    }
    this.#bytes += n;
  }

  /** Bytes already received that must be kept (a socket read); answers whether the budget still holds. */
  forceBytes(n: number): boolean {
    if (this.#released) return false;
    this.ledger.forceHostBytes(n);
    this.#bytes += n;
    return this.ledger.usage().hostBytes <= this.limits.hostBytes;
  }

  freeBytes(n: number): void {
    const give = Math.min(n, this.#bytes);
    if (give <= 0) return;
    this.#bytes -= give;
    this.ledger.freeHostBytes(give);
  }

  get bytesHeld(): number {
    return this.#bytes;
  }

  /** One more live handle; throws ResourceLimitError at the per-instance cap. */
  takeHandle(what: string): void {
    if (this.#released) return;
    if (this.#handles >= this.limits.handlesPerInstance) {
      this.#refuse('handles', `create a ${what}`, `the instance holds ${this.#handles} handles, its cap`);
    }
    this.#handles++;
  }

  freeHandle(): void {
    if (this.#handles > 0) this.#handles--;
  }

  get handlesHeld(): number {
    return this.#handles;
  }

  /** One more open descriptor; throws ResourceLimitError at the instance, vendor or device cap. */
  takeFd(what: string): void {
    if (this.#released) this.#refuse('fds', what, 'the instance has ended');
    if (!tryAdd(this.#instanceFds, 0, 1, this.limits.fdsPerInstance)) {
      this.#refuse('fds', what, `the instance holds ${this.limits.fdsPerInstance} open descriptors, its cap`);
    }
    const r = this.ledger.tryFd();
    if (r !== 'ok') sub(this.#instanceFds, 0, 1);
    if (r === 'vendor') this.#refuse('fds', what, `the vendor's instances hold ${this.limits.fdsPerVendor} open descriptors, its cap`);
    if (r === 'device') this.#refuse('fds', what, `guests of all vendors hold ${this.ledger.deviceFdCapacity} open descriptors, the device's cap (the rest is the daemon's reserve)`);
    this.#fds++;
  }

  freeFd(): void {
    if (this.#fds <= 0) return;
    this.#fds--;
    sub(this.#instanceFds, 0, 1);
    this.ledger.freeFd();
  }

  get fdsHeld(): number {
    return this.#fds;
  }

  /**
   * The data root grows by `n` bytes; throws ResourceLimitError over the vendor's quota, or when
   * the file system would keep less free space than the daemon's reserve.
   */
  growDisk(n: number, what: string, statfsPath?: string): void {
    if (n <= 0) return;
    if (!this.ledger.tryDisk(n)) {
      const used = this.ledger.usage().diskBytes;
      this.#refuse('disk', what, `the vendor's disk quota of ${mib(this.limits.diskBytes)} would be exceeded (${mib(used)} used)`);
    }
    if (statfsPath && this.limits.diskReserveBytes > 0) {
      let free = Infinity;
      try {
        const st = fs.statfsSync(statfsPath);
        free = st.bavail * st.bsize;
      } catch { /* unknown: the quota alone decides */ }
      if (free - n < this.limits.diskReserveBytes) {
        this.ledger.freeDisk(n);
        this.#refuse('disk', what, `the file system keeps ${mib(this.limits.diskReserveBytes)} free for the device's state (${mib(Math.max(0, free))} free)`, 'ENOSPC');
      }
    }
  }

  shrinkDisk(n: number): void {
    if (n > 0) this.ledger.freeDisk(n);
  }

  /** A host descriptor the guest now holds (a regular file's removal waits for its close). */
  fileOpened(fd: number): void {
    this.ledger.openFiles.opened(fd);
  }

  /** Call just before closing a guest's host descriptor: a removed file's bytes go back at its last close. */
  fileClosing(fd: number): void {
    this.shrinkDisk(this.ledger.openFiles.closing(fd));
  }

  /** What removing the entry at `hostPath` gives back now (open-files.ts). */
  removalRefund(hostPath: string): number {
    return this.ledger.openFiles.removalRefund(hostPath);
  }

  /** At the instance's end: everything it still holds goes back to the vendor (disk stays used). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.ledger.freeHostBytes(this.#bytes);
    for (let i = 0; i < this.#fds; i++) this.ledger.freeFd();
    sub(this.#instanceFds, 0, this.#fds);
    this.#bytes = 0;
    this.#fds = 0;
    this.#handles = 0;
  }
}

/** An instance with no limits (bulkhead run, single-API tests). */
export function unlimitedResources(instanceId = 'unlimited'): InstanceResources {
  return new ResourceLedger(UNLIMITED, { vendor: new SharedArrayBuffer(8 * CELLS), device: unlimitedDevice() }).instance(instanceId);
}

function unlimitedDevice(): SharedArrayBuffer {
  return DeviceFdBudget.create(Number.MAX_SAFE_INTEGER);
}
