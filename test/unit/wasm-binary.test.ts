import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { binaryKind, capMemory, DEFAULT_TABLE_ELEMENTS, inspectModule, MemoryCapError, TableCapError, WASM_PAGE, WasmFormatError } from '../../runtime/sandbox/wasm-binary.js';
import { tableBombModule } from '../support/tiny-wasm.js';

// Hand-assembled modules keep these tests independent of any toolchain.
const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const section = (id: number, body: number[]) => [id, body.length, ...body];
const str = (s: string) => [s.length, ...Buffer.from(s)];

/** (memory (export "memory") MIN [MAX]) with a grow function: (func (export "grow") (param i32) (result i32)). */
function memoryModule(min: number, max?: number): Uint8Array {
  const limits = max === undefined ? [0x00, min] : [0x01, min, max];
  return Uint8Array.from([
    ...header,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7f]),
    ...section(3, [1, 0]),
    ...section(5, [1, ...limits]),
    ...section(7, [2, ...str('memory'), 2, 0, ...str('grow'), 0, 0]),
    ...section(10, [1, 6, 0, 0x20, 0, 0x40, 0, 0x0b]),
  ]);
}

function importedMemoryModule(min: number): Uint8Array {
  return Uint8Array.from([...header, ...section(2, [1, ...str('env'), ...str('mem'), 2, 0x00, min])]);
}

test('binaryKind tells modules, components and garbage apart', () => {
  assert.is(binaryKind(memoryModule(1)), 'module');
  assert.is(binaryKind(Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00])), 'component');
  assert.throws(() => binaryKind(Buffer.from('#!/bin/sh\necho hi\n')), (e: Error) => e instanceof WasmFormatError && /magic/.test(e.message));
  assert.throws(() => binaryKind(Uint8Array.from([0, 0x61])), /too short/);
});

test('truncated sections are reported with their position', () => {
  const bytes = memoryModule(1);
  assert.throws(() => inspectModule(bytes.subarray(0, bytes.length - 3)), /truncated/);
});

test('capMemory adds a maximum where none was declared, and the engine enforces it', () => {
  const capped = capMemory(memoryModule(1), 4 * WASM_PAGE);
  assert.equal(inspectModule(capped).memories[0]!.max, 4n);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(capped as Uint8Array<ArrayBuffer>));
  const grow = instance.exports.grow as (pages: number) => number;
  assert.is(grow(3), 1, 'growing up to the cap works');
  assert.is(grow(1), -1, 'growing past the cap fails');
  assert.is((instance.exports.memory as WebAssembly.Memory).buffer.byteLength, 4 * WASM_PAGE);
});

test('capMemory lowers a larger declared maximum but keeps a smaller one', () => {
  assert.equal(inspectModule(capMemory(memoryModule(1, 100), 8 * WASM_PAGE)).memories[0]!.max, 8n);
  assert.equal(inspectModule(capMemory(memoryModule(1, 2), 8 * WASM_PAGE)).memories[0]!.max, 2n);
});

test('capMemory caps imported memories too', () => {
  const capped = capMemory(importedMemoryModule(1), 3 * WASM_PAGE);
  const imp = inspectModule(capped).imports[0]!;
  assert.is(imp.kind, 'memory');
  assert.equal(imp.memory!.max, 3n);
});

test('a module that needs more than the cap at start is refused', () => {
  assert.throws(() => capMemory(memoryModule(10), 2 * WASM_PAGE), (e: Error) => e instanceof MemoryCapError && /640 KiB at start/.test(e.message));
});

test('issue 11: a table bomb (10,000,000 elements at start) is refused before V8 allocates it', () => {
  const bomb = tableBombModule();
  assert.ok(bomb.length < 436, `${bomb.length} bytes`);
  assert.throws(() => capMemory(bomb, 16 * WASM_PAGE), (e: Error) => e instanceof TableCapError
    && e.message === `table 0 declares 10000000 elements at start, more than the table cap of ${DEFAULT_TABLE_ELEMENTS}`);
  assert.throws(() => capMemory(tableBombModule(2000), 16 * WASM_PAGE, 1000), (e: Error) => e instanceof TableCapError);
});

test('a table without a maximum gets the cap as its maximum (table.grow past it fails in the engine)', () => {
  const capped = capMemory(tableBombModule(10), 16 * WASM_PAGE, 50);
  // The rewritten module declares (table 10 50 funcref) and still compiles and instantiates.
  const tableSection = [0x04, 0x05, 0x01, 0x70, 0x01, 10, 50];
  assert.ok(Buffer.from(capped).includes(Buffer.from(tableSection)), 'table section rewritten to min 10, max 50');
  new WebAssembly.Instance(new WebAssembly.Module(capped as Uint8Array<ArrayBuffer>), {});
});

test('inspectModule lists exports', () => {
  const info = inspectModule(memoryModule(1));
  assert.equal(info.exports.map((e) => `${e.kind}:${e.name}`), ['memory:memory', 'func:grow']);
});

test.run();
