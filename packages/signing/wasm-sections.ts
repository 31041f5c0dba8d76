// Splitting a WebAssembly binary (module or component) into its raw sections, which is all the
// signature format needs: it hashes sections byte for byte and never interprets them.
import { PackageError } from '../package-errors.js';

export interface RawSection {
  id: number;
  /** Name, for custom sections (id 0). */
  name?: string;
  /** The complete section bytes: id, size and payload. */
  bytes: Uint8Array;
  /** Payload after the custom section's name (custom sections only). */
  payload?: Uint8Array;
}

function fail(message: string): never {
  throw new PackageError('BH_ERR_WASM_SIGNATURE', message);
}

function readUleb(bytes: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    if (pos >= bytes.length) fail(`truncated WebAssembly binary at byte ${pos}`);
    const b = bytes[pos++]!;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7;
  }
  fail(`malformed LEB128 at byte ${pos}`);
}

export function encodeUleb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

export function splitSections(bytes: Uint8Array): { header: Uint8Array; sections: RawSection[] } {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    fail('not a WebAssembly binary (missing "\\0asm" magic)');
  }
  const sections: RawSection[] = [];
  let pos = 8;
  while (pos < bytes.length) {
    const start = pos;
    const id = bytes[pos++]!;
    const [size, contentStart] = readUleb(bytes, pos);
    const end = contentStart + size;
    if (end > bytes.length) fail(`section at byte ${start} runs past the end of the file (truncated?)`);
    const section: RawSection = { id, bytes: bytes.subarray(start, end) };
    if (id === 0) {
      const [nameLen, nameStart] = readUleb(bytes, contentStart);
      if (nameStart + nameLen > end) fail(`custom section at byte ${start} has a name longer than itself`);
      section.name = new TextDecoder().decode(bytes.subarray(nameStart, nameStart + nameLen));
      section.payload = bytes.subarray(nameStart + nameLen, end);
    }
    sections.push(section);
    pos = end;
  }
  return { header: bytes.subarray(0, 8), sections };
}

export function customSection(name: string, payload: Uint8Array): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const body = [...encodeUleb(nameBytes.length), ...nameBytes, ...payload];
  return Uint8Array.from([0, ...encodeUleb(body.length), ...body]);
}
