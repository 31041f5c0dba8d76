// Where a sandbox's stdin/stdout/stderr go. The CLI hands the process's own fds; the runtime can
// hand a sink that captures into its log store.
import fs from 'node:fs';
import { sleepNs } from './clocks.js';

export interface OutputSink {
  write(bytes: Uint8Array): void;
}

export interface InputSource {
  /** Reads into `into`, blocking; returns 0 at end of input. */
  read(into: Uint8Array): number;
}

/** Writes to a host fd, retrying when the fd is a non-blocking pipe that is momentarily full. */
export function fdSink(fd: number): OutputSink {
  return {
    write(bytes) {
      let offset = 0;
      while (offset < bytes.length) {
        try {
          offset += fs.writeSync(fd, bytes, offset, bytes.length - offset);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
          sleepNs(1_000_000n);
        }
      }
    },
  };
}

export function fdSource(fd: number): InputSource {
  return {
    read(into) {
      for (;;) {
        try {
          return fs.readSync(fd, into, 0, into.length, null);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EOF') return 0;
          if (code !== 'EAGAIN') throw err;
          sleepNs(1_000_000n);
        }
      }
    },
  };
}

export const emptySource: InputSource = { read: () => 0 };
export const discardSink: OutputSink = { write: () => undefined };

/** Collects output in memory, bounded so a flooding guest cannot exhaust the host. */
export class CapturedOutput implements OutputSink {
  private chunks: Uint8Array[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly limit = 1 << 20) {}
  write(bytes: Uint8Array): void {
    const room = this.limit - this.size;
    if (room <= 0) { this.truncated = true; return; }
    const part = bytes.length > room ? bytes.slice(0, room) : bytes.slice();
    if (part.length < bytes.length) this.truncated = true;
    this.chunks.push(part);
    this.size += part.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
