// wasi:io (error, poll, streams) for one component instance. The classes are created per instance,
// so no state is shared between guests; jco checks resources with `instanceof` against exactly the
// classes in that instance's import object.
import { sleepNs } from '../wasi-p1/clocks.js';
import { GuestError } from './errors.js';

/** Where blocking happens; the sandbox uses it to tell a waiting guest from a spinning one. */
export interface BlockingHooks {
  beforeBlock(): void;
  afterBlock(): void;
}

export interface ByteSource {
  /** Up to `max` bytes; an empty array means nothing yet, `null` the end. */
  read(max: number): Uint8Array | null;
}

export interface ByteSink {
  write(bytes: Uint8Array): void;
}

const MAX_WRITE = 1 << 20;

export function createIo(hooks: BlockingHooks) {
  class IoError {
    constructor(readonly message: string) {}
    toDebugString(): string {
      return this.message;
    }
  }

  /** Ready now, or at a monotonic deadline (ns, process.hrtime clock). */
  class Pollable {
    constructor(readonly deadline: bigint = 0n) {}
    ready(): boolean {
      return process.hrtime.bigint() >= this.deadline;
    }
    block(): void {
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
    let now = ready();
    if (now.length === 0) {
      list.reduce((a, b) => (a.deadline <= b.deadline ? a : b)).block();
      now = ready();
    }
    return Uint32Array.from(now);
  }

  const failed = (err: unknown) => new GuestError({ tag: 'last-operation-failed', val: new IoError((err as Error).message ?? String(err)) });
  const closed = () => new GuestError({ tag: 'closed' });

  class InputStream {
    #source: ByteSource | undefined;
    constructor(source: ByteSource) {
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
      return this.read(len);
    }
    skip(len: bigint): bigint {
      return BigInt(this.read(len).length);
    }
    blockingSkip(len: bigint): bigint {
      return this.skip(len);
    }
    subscribe(): Pollable {
      return new Pollable();
    }
    [Symbol.dispose](): void {
      this.#source = undefined;
    }
  }

  class OutputStream {
    #sink: ByteSink | undefined;
    constructor(sink: ByteSink) {
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
      this.#sink = undefined;
    }
  }

  return { IoError, Pollable, poll, InputStream, OutputStream };
}

export type Io = ReturnType<typeof createIo>;
