// A minimal reader/rewriter of the WebAssembly binary format: just enough to tell a core module
// from a component, list imports/exports, and rewrite declared memory and table limits (our caps).
// We keep every other byte as it was, so the rewrite cannot change what the module does.

export class WasmFormatError extends Error {}

export const WASM_PAGE = 65536;

export interface MemoryLimits {
  min: bigint;
  max: bigint | undefined;
  shared: boolean;
  is64: boolean;
}

export interface ModuleImport {
  module: string;
  name: string;
  kind: 'func' | 'table' | 'memory' | 'global' | 'tag';
  memory?: MemoryLimits;
}

export interface ModuleExport {
  name: string;
  kind: 'func' | 'table' | 'memory' | 'global' | 'tag';
}

interface Section { id: number; start: number; end: number; contentStart: number }

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const EXTERN_KINDS = ['func', 'table', 'memory', 'global', 'tag'] as const;

export type BinaryKind = 'module' | 'component';

/** Tells what a byte buffer is, or throws WasmFormatError saying why it is neither. */
export function binaryKind(bytes: Uint8Array): BinaryKind {
  if (bytes.length < 8) throw new WasmFormatError(`file is ${bytes.length} bytes: too short to be WebAssembly`);
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== MAGIC[i]) throw new WasmFormatError('not a WebAssembly binary (missing "\\0asm" magic)');
  }
  const version = bytes[4]! | (bytes[5]! << 8);
  const layer = bytes[6]! | (bytes[7]! << 8);
  if (layer === 0 && version === 1) return 'module';
  if (layer === 1) return 'component';
  throw new WasmFormatError(`unsupported WebAssembly version ${version} (layer ${layer})`);
}

class Reader {
  constructor(readonly bytes: Uint8Array, public pos: number, readonly end: number) {}

  byte(): number {
    if (this.pos >= this.end) throw new WasmFormatError(`unexpected end of data at byte ${this.pos} (truncated module?)`);
    return this.bytes[this.pos++]!;
  }

  uleb(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new WasmFormatError(`malformed LEB128 at byte ${this.pos}`);
    }
  }

  u32(): number {
    const v = this.uleb();
    if (v > 0xffffffffn) throw new WasmFormatError(`integer too large at byte ${this.pos}`);
    return Number(v);
  }

  skip(n: number): void {
    if (this.pos + n > this.end) throw new WasmFormatError(`unexpected end of data at byte ${this.pos} (truncated module?)`);
    this.pos += n;
  }

  name(): string {
    const len = this.u32();
    const start = this.pos;
    this.skip(len);
    return new TextDecoder().decode(this.bytes.subarray(start, start + len));
  }

  limits(): MemoryLimits {
    const flags = this.byte();
    const is64 = (flags & 0x04) !== 0;
    const min = this.uleb();
    const max = flags & 0x01 ? this.uleb() : undefined;
    return { min, max, shared: (flags & 0x02) !== 0, is64 };
  }

  valtype(): void {
    const t = this.byte();
    // GC proposal reference types carry a heap type (signed LEB) after the prefix.
    if (t === 0x63 || t === 0x64) this.uleb();
  }
}

function sections(bytes: Uint8Array): Section[] {
  binaryKind(bytes);
  const out: Section[] = [];
  const r = new Reader(bytes, 8, bytes.length);
  while (r.pos < bytes.length) {
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    const contentStart = r.pos;
    r.skip(size);
    out.push({ id, start, end: r.pos, contentStart });
  }
  return out;
}

function parseImports(bytes: Uint8Array, s: Section): ModuleImport[] {
  const r = new Reader(bytes, s.contentStart, s.end);
  const count = r.u32();
  const out: ModuleImport[] = [];
  for (let i = 0; i < count; i++) {
    const module = r.name();
    const name = r.name();
    const kindByte = r.byte();
    const kind = EXTERN_KINDS[kindByte];
    if (!kind) throw new WasmFormatError(`import ${module}.${name} has unknown kind ${kindByte}`);
    const entry: ModuleImport = { module, name, kind };
    if (kind === 'func') r.u32();
    else if (kind === 'table') { r.valtype(); r.limits(); }
    else if (kind === 'memory') entry.memory = r.limits();
    else if (kind === 'global') { r.valtype(); r.byte(); }
    else { r.byte(); r.u32(); }
    out.push(entry);
  }
  return out;
}

export interface ModuleInfo {
  imports: ModuleImport[];
  exports: ModuleExport[];
  memories: MemoryLimits[];
}

/** Reads imports, exports and defined memories of a core module. */
export function inspectModule(bytes: Uint8Array): ModuleInfo {
  const info: ModuleInfo = { imports: [], exports: [], memories: [] };
  for (const s of sections(bytes)) {
    if (s.id === 2) info.imports = parseImports(bytes, s);
    if (s.id === 5) {
      const r = new Reader(bytes, s.contentStart, s.end);
      const count = r.u32();
      for (let i = 0; i < count; i++) info.memories.push(r.limits());
    }
    if (s.id === 7) {
      const r = new Reader(bytes, s.contentStart, s.end);
      const count = r.u32();
      for (let i = 0; i < count; i++) {
        const name = r.name();
        const kind = EXTERN_KINDS[r.byte()];
        r.u32();
        if (kind) info.exports.push({ name, kind });
      }
    }
  }
  return info;
}

function encodeUleb(value: bigint): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}

function encodeLimits(l: MemoryLimits): number[] {
  const flags = (l.max !== undefined ? 0x01 : 0) | (l.shared ? 0x02 : 0) | (l.is64 ? 0x04 : 0);
  return [flags, ...encodeUleb(l.min), ...(l.max !== undefined ? encodeUleb(l.max) : [])];
}

export class MemoryCapError extends Error {}

function capLimits(l: MemoryLimits, capPages: bigint, what: string): MemoryLimits {
  if (l.min > capPages) {
    throw new MemoryCapError(
      `${what} needs ${l.min * 64n} KiB at start, more than the memory cap of ${capPages * 64n} KiB`,
    );
  }
  return { ...l, max: l.max === undefined || l.max > capPages ? capPages : l.max };
}

/** A table declaring more elements at start than the table cap. */
export class TableCapError extends MemoryCapError {}

// V8 keeps a table's elements on the JS heap: `(table 10000000 funcref)` in a 436-byte module
// exhausted a sandbox's heap in one allocation, which V8 answers with a process abort, not a
// catchable error (issue 11). So tables are capped like memories: a declared maximum above the
// cap is lowered (table.grow past it fails inside the guest), a minimum above it is refused.
export const DEFAULT_TABLE_ELEMENTS = 100_000;

function capTable(l: MemoryLimits, cap: bigint, what: string): MemoryLimits {
  if (l.min > cap) throw new TableCapError(`${what} declares ${l.min} elements at start, more than the table cap of ${cap}`);
  return { ...l, max: l.max === undefined || l.max > cap ? cap : l.max };
}

/** Reads a table type (reference type, limits); the typed-table form with an initializer is refused. */
function tableType(r: Reader, what: string): { refType: number[]; limits: MemoryLimits } {
  const start = r.pos;
  if (r.bytes[r.pos] === 0x40) throw new WasmFormatError(`${what}: tables with an initializer expression are not supported`);
  r.valtype();
  const refType = [...r.bytes.subarray(start, r.pos)];
  return { refType, limits: r.limits() };
}

function section(id: number, content: number[]): number[] {
  return [id, ...encodeUleb(BigInt(content.length)), ...content];
}

/**
 * Returns a copy of the module whose every memory (defined or imported) declares a maximum of at
 * most `capBytes`, and every table one of at most `tableElements`. Engines refuse memory.grow past
 * a declared maximum, which is the only bound on wasm memory that holds inside a worker
 * (resourceLimits does not count it).
 */
export function capMemory(bytes: Uint8Array, capBytes: number, tableElements = DEFAULT_TABLE_ELEMENTS): Uint8Array {
  const capPages = BigInt(Math.floor(capBytes / WASM_PAGE));
  const tableCap = BigInt(tableElements);
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const s of sections(bytes)) {
    if (s.id === 4) {
      const r = new Reader(bytes, s.contentStart, s.end);
      const count = r.u32();
      const content = encodeUleb(BigInt(count));
      for (let i = 0; i < count; i++) {
        const t = tableType(r, `table ${i}`);
        content.push(...t.refType, ...encodeLimits(capTable(t.limits, tableCap, `table ${i}`)));
      }
      parts.push(Uint8Array.from(section(4, content)));
    } else if (s.id === 5) {
      const r = new Reader(bytes, s.contentStart, s.end);
      const count = r.u32();
      const content = encodeUleb(BigInt(count));
      for (let i = 0; i < count; i++) content.push(...encodeLimits(capLimits(r.limits(), capPages, `memory ${i}`)));
      parts.push(Uint8Array.from(section(5, content)));
    } else if (s.id === 2) {
      const r = new Reader(bytes, s.contentStart, s.end);
      const count = r.u32();
      const content = encodeUleb(BigInt(count));
      for (let i = 0; i < count; i++) {
        const entryStart = r.pos;
        const module = r.name();
        const name = r.name();
        const kindByte = r.byte();
        if (kindByte === 2) {
          const headerEnd = r.pos;
          const limits = capLimits(r.limits(), capPages, `imported memory ${module}.${name}`);
          content.push(...bytes.subarray(entryStart, headerEnd), ...encodeLimits(limits));
          continue;
        }
        if (kindByte === 1) {
          const headerEnd = r.pos;
          const t = tableType(r, `imported table ${module}.${name}`);
          content.push(...bytes.subarray(entryStart, headerEnd), ...t.refType, ...encodeLimits(capTable(t.limits, tableCap, `imported table ${module}.${name}`)));
          continue;
        }
        if (kindByte === 0) r.u32();
        else if (kindByte === 3) { r.valtype(); r.byte(); }
        else if (kindByte === 4) { r.byte(); r.u32(); }
        else throw new WasmFormatError(`import ${module}.${name} has unknown kind ${kindByte}`);
        content.push(...bytes.subarray(entryStart, r.pos));
      }
      parts.push(Uint8Array.from(section(2, content)));
    } else {
      parts.push(bytes.subarray(s.start, s.end));
    }
  }
  return Buffer.concat(parts);
}
