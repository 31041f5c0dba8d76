// Typed access to the guest's linear memory. The views are rebuilt on each use because
// memory.grow detaches the previous ArrayBuffer.
import { Errno } from './constants.js';
import { WasiError } from './errors.js';

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

export class GuestMemory {
  private memory: WebAssembly.Memory | undefined;

  attach(memory: WebAssembly.Memory): void {
    this.memory = memory;
  }

  get view(): DataView {
    if (!this.memory) throw new WasiError(Errno.FAULT, 'guest memory not attached');
    return new DataView(this.memory.buffer);
  }

  bytes(ptr: number, len: number): Uint8Array {
    if (!this.memory) throw new WasiError(Errno.FAULT, 'guest memory not attached');
    const buffer = this.memory.buffer;
    if (ptr < 0 || len < 0 || ptr + len > buffer.byteLength) throw new WasiError(Errno.FAULT, 'out of bounds');
    return new Uint8Array(buffer, ptr, len);
  }

  string(ptr: number, len: number): string {
    try {
      return decoder.decode(this.bytes(ptr, len));
    } catch (err) {
      if (err instanceof WasiError) throw err;
      throw new WasiError(Errno.ILSEQ, 'path is not valid UTF-8');
    }
  }

  /** Writes `text` NUL-terminated or not; returns bytes written. */
  writeString(ptr: number, text: string, capacity: number): number {
    const encoded = encoder.encode(text);
    if (encoded.length > capacity) throw new WasiError(Errno.NAMETOOLONG);
    this.bytes(ptr, encoded.length).set(encoded);
    return encoded.length;
  }

  /** The scatter/gather buffers of an iovec array, as views into guest memory. */
  iovecs(ptr: number, count: number): Uint8Array[] {
    const view = this.view;
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const base = ptr + i * 8;
      if (base + 8 > view.byteLength) throw new WasiError(Errno.FAULT);
      out.push(this.bytes(view.getUint32(base, true), view.getUint32(base + 4, true)));
    }
    return out;
  }

  u8(ptr: number, value: number): void { this.view.setUint8(ptr, value); }
  u16(ptr: number, value: number): void { this.view.setUint16(ptr, value, true); }
  u32(ptr: number, value: number): void { this.view.setUint32(ptr, value, true); }
  u64(ptr: number, value: bigint): void { this.view.setBigUint64(ptr, value, true); }
}

export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}
