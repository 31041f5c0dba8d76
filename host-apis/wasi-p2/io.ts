// wasi:io (error, poll, streams) for one component instance. The classes are created per instance,
// so no state is shared between guests; jco checks resources with `instanceof` against exactly the
// classes in that instance's import object.
import { sleepNs } from '../wasi-p1/clocks.js';
import { GuestError } from './errors.js';
import { unlimitedResources, type InstanceResources } from '../limits/resource-ledger.js';

/** Where blocking happens; the sandbox uses it to tell a waiting guest from a spinning one. */
export interface BlockingHooks {
  beforeBlock(): void;
  afterBlock(): void;
}

export interface ByteSource {
  /** Up to `max` bytes; an empty array means nothing yet, `null` the end. */
  read(max: number): Uint8Array | null;
  /** Blocks until at least one byte or the end; without it, read() is taken to block by itself. */
  blockingRead?(max: number): Uint8Array | null;
  readiness?: ReadinessSource;
  /** The guest dropped the stream: give back what the source holds. */
  dispose?(): void;
}

export interface ByteSink {
  write(bytes: Uint8Array): void;
  dispose?(): void;
}

/** Readiness of something outside the guest (a socket); `wait` blocks up to `ms` and says if ready. */
export interface ReadinessSource {
  ready(): boolean;
  wait(ms: number): boolean;
}

const MAX_WRITE = 1 << 20;

/**
 * `resources`: every pollable and stream is a handle charged to the instance (resource-ledger.ts).
 * At the cap, creating one traps the instance, as wasmtime does when its resource table is full:
 * `subscribe` has no error case to answer with.
 */
export function createIo(hooks: BlockingHooks, resources: InstanceResources = unlimitedResources()) {
  class IoError {
    /** `cause`: what the host threw, so wasi:filesystem's filesystem-error-code can say what it was. */
    constructor(readonly message: string, readonly cause?: unknown) {}
    toDebugString(): string {
      return this.message;
    }
  }

  /**
   * Ready now, at a monotonic deadline (ns, process.hrtime clock), or when an event source says so
   * (a socket with data). Waiting on a source happens in the host, in slices.
   */
  class Pollable {
    #dropped = false;
    constructor(readonly deadline: bigint = 0n, readonly source?: ReadinessSource) {
      resources.takeHandle('pollable');
    }
    [Symbol.dispose](): void {
      if (!this.#dropped) resources.freeHandle();
      this.#dropped = true;
    }
    ready(): boolean {
      return this.source ? this.source.ready() : process.hrtime.bigint() >= this.deadline;
    }
    block(): void {
      if (this.source) {
        while (!this.source.ready()) this.source.wait(1000);
        return;
      }
      const left = this.deadline - process.hrtime.bigint();
      if (left <= 0n) return;
      hooks.beforeBlock();
      try {
        sleepNs(left);
      } finally {
        hooks.afterBlock();
      }
    }
  }

  function poll(list: Pollable[]): Uint32Array {
    if (list.length === 0) throw new GuestError('poll of an empty list');
    const ready = (): number[] => list.flatMap((p, i) => (p.ready() ? [i] : []));
    for (;;) {
      const now = ready();
      if (now.length > 0) return Uint32Array.from(now);
      const timed = list.filter((p) => !p.source);
      const evented = list.filter((p) => p.source);
      const nearest = timed.length ? timed.reduce((a, b) => (a.deadline <= b.deadline ? a : b)) : undefined;
      if (evented.length === 0) {
        nearest!.block();
        continue;
      }
      // Wait on the first event source, no longer than the nearest deadline (and a short slice,
      // so the other sources are looked at again).
      const leftMs = nearest ? Number(nearest.deadline - process.hrtime.bigint()) / 1e6 : 50;
      evented[0]!.source!.wait(Math.max(0, Math.min(50, leftMs)));
    }
  }

  const failed = (err: unknown) => new GuestError({ tag: 'last-operation-failed', val: new IoError((err as Error).message ?? String(err), err) });
  const closed = () => new GuestError({ tag: 'closed' });

  class InputStream {
    #source: ByteSource | undefined;
    #dropped = false;
    constructor(source: ByteSource) {
      resources.takeHandle('input-stream');
      this.#source = source;
    }
    read(len: bigint): Uint8Array {
      if (!this.#source) throw closed();
      let bytes: Uint8Array | null;
      try {
        bytes = this.#source.read(Number(len > BigInt(MAX_WRITE) ? MAX_WRITE : len));
      } catch (err) {
        throw failed(err);
      }
      if (bytes === null) throw closed();
      return bytes;
    }
    blockingRead(len: bigint): Uint8Array {
      const source = this.#source;
      if (!source?.blockingRead) return this.read(len);
      let bytes: Uint8Array | null;
      try {
        bytes = source.blockingRead(Number(len > BigInt(MAX_WRITE) ? MAX_WRITE : len));
      } catch (err) {
        throw failed(err);
      }
      if (bytes === null) throw closed();
      return bytes;
    }
    skip(len: bigint): bigint {
      return BigInt(this.read(len).length);
    }
    blockingSkip(len: bigint): bigint {
      return this.skip(len);
    }
    subscribe(): Pollable {
      return new Pollable(0n, this.#source?.readiness);
    }
    [Symbol.dispose](): void {
      if (!this.#dropped) resources.freeHandle();
      this.#dropped = true;
      this.#source?.dispose?.();
      this.#source = undefined;
    }
  }

  class OutputStream {
    #sink: ByteSink | undefined;
    #dropped = false;
    constructor(sink: ByteSink) {
      resources.takeHandle('output-stream');
      this.#sink = sink;
    }
    checkWrite(): bigint {
      if (!this.#sink) throw closed();
      return BigInt(MAX_WRITE);
    }
    write(contents: Uint8Array): void {
      if (!this.#sink) throw closed();
      if (contents.length > MAX_WRITE) throw failed(new Error(`write of ${contents.length} bytes exceeds check-write's ${MAX_WRITE}`));
      try {
        this.#sink.write(contents);
      } catch (err) {
        if (err instanceof GuestError) throw err;
        throw failed(err);
      }
    }
    blockingWriteAndFlush(contents: Uint8Array): void {
      this.write(contents);
    }
    flush(): void {
      if (!this.#sink) throw closed();
    }
    blockingFlush(): void {
      this.flush();
    }
    subscribe(): Pollable {
      return new Pollable();
    }
    writeZeroes(len: bigint): void {
      // Checked before anything is allocated: the guest's length is up to 2^64 (a buffer of it
      // was allocated first, then refused by write's own check, or failed as a host RangeError).
      if (!this.#sink) throw closed();
      if (len > BigInt(MAX_WRITE)) throw failed(new Error(`write of ${len} zero bytes exceeds check-write's ${MAX_WRITE}`));
      this.write(new Uint8Array(Number(len)));
    }
    blockingWriteZeroesAndFlush(len: bigint): void {
      this.writeZeroes(len);
    }
    splice(src: InputStream, len: bigint): bigint {
      const bytes = src.read(len);
      this.write(bytes);
      return BigInt(bytes.length);
    }
    blockingSplice(src: InputStream, len: bigint): bigint {
      return this.splice(src, len);
    }
    [Symbol.dispose](): void {
      if (!this.#dropped) resources.freeHandle();
      this.#dropped = true;
      this.#sink?.dispose?.();
      this.#sink = undefined;
    }
  }

  return { IoError, Pollable, poll, InputStream, OutputStream };
}

export type Io = ReturnType<typeof createIo>;
