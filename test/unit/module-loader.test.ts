import fs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PREVIEW1_FUNCTIONS } from '../../host-apis/wasi-p1/preview1.js';
import { clearModuleCache, LoadError, loadModule } from '../../runtime/sandbox/module-loader.js';
import { sample } from '../support/paths.js';

const options = (source: string) => ({
  memoryCapBytes: 16 * 1024 * 1024,
  providedImports: new Map([['wasi_snapshot_preview1', PREVIEW1_FUNCTIONS]]),
  source,
});
const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

async function loadError(bytes: Uint8Array): Promise<string> {
  try {
    await loadModule(bytes, options('x.wasm'));
  } catch (err) {
    assert.instance(err, LoadError);
    return (err as Error).message;
  }
  throw new Error('expected a LoadError');
}

test('the second load of the same module is served from the cache', async () => {
  clearModuleCache();
  const bytes = fs.readFileSync(sample('hello-as/build/hello.wasm'));
  const first = await loadModule(bytes, options('hello.wasm'));
  const second = await loadModule(bytes, options('hello.wasm'));
  assert.ok(first.compileMs > 0);
  assert.is(second.compileMs, 0);
  assert.is(second.module, first.module);
  assert.match(first.digest, /^sha256:[0-9a-f]{64}$/);
});

test('a component is refused with a message saying so', async () => {
  assert.match(await loadError(Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00])), /is a WebAssembly component/);
});

test('a module without _start is not a command', async () => {
  // (module (memory (export "memory") 1))
  const bytes = Uint8Array.from([...header, 5, 3, 1, 0, 1, 7, 10, 1, 6, ...Buffer.from('memory'), 2, 0]);
  assert.match(await loadError(bytes), /no "_start" function export/);
});

test('unknown imports are named before anything runs', async () => {
  // (module (import "env" "launch_missiles" (func)))
  const name = Buffer.from('launch_missiles');
  const bytes = Uint8Array.from([...header, 1, 4, 1, 0x60, 0, 0, 2, 5 + name.length + 3, 1, 3, ...Buffer.from('env'), name.length, ...name, 0, 0]);
  assert.match(await loadError(bytes), /does not provide: env\.launch_missiles \(func\)/);
});

test('garbage and truncation', async () => {
  assert.match(await loadError(Buffer.from('not wasm at all')), /not a WebAssembly binary/);
  const hello = fs.readFileSync(sample('hello-as/build/hello.wasm'));
  assert.match(await loadError(hello.subarray(0, 200)), /truncated/);
});

test.run();
