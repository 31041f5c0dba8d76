// WASI 0.2 components through `bulkhead run`: interop with a component made by jco's own
// toolchain, exit codes, traps, timeouts, and what the install-time check refuses.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { directHostImports } from '../../runtime/apps/direct-host-imports.js';
import { runCli, sample, tempDir } from '../support/paths.js';

const tourCore = sample('interop-c/build/wasi-tour.wasm');
const tourComponent = sample('interop-c/build/wasi-tour.component.wasm');
const dataDir = tempDir();

function tourDir(): string {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'input.txt'), '1\n2\n39\n');
  fs.mkdirSync(path.join(dir, 'out'));
  return dir;
}

test('interop: the same C program as a core module and as a jco-made component gives identical output', async () => {
  const runs = [];
  for (const wasm of [tourCore, tourComponent]) {
    const dir = tourDir();
    const r = await runCli(['--data-dir', dataDir, 'run', '--dir', `${dir}::/data`, '--env', 'WHO=tester', wasm, 'one', 'two words']);
    assert.is(r.code, 0, r.stderr);
    runs.push({ stdout: r.stdout, written: fs.readFileSync(path.join(dir, 'out', 'result.txt'), 'utf8') });
  }
  assert.equal(runs[0], runs[1]);
  assert.match(runs[1]!.stdout, /arg 2: two words\nWHO=tester\nentry: input.txt\nentry: out\nlines=3 sum=42\nresult size=7\n/);
  assert.match(runs[1]!.stdout, /slept>=2ms: yes\nrealtime after 2020: yes\nrandom bytes: ok\nescape: refused\n/);
  assert.is(runs[1]!.written, 'sum=42\n');
});

test('a component gets stdin, and nothing it was not granted', async () => {
  const cat = sample('cat-c/build/cat.component.wasm');
  const piped = await runCli(['--data-dir', dataDir, 'run', cat], { input: 'through stdin\n' });
  assert.is(piped.code, 0, piped.stderr);
  assert.is(piped.stdout, 'through stdin\n');
  const denied = await runCli(['--data-dir', dataDir, 'run', cat, '/etc/hostname']);
  assert.is(denied.code, 1, 'the preview1 adapter turns a failing exit into 1');
  assert.is(denied.stdout, '');
});

test('the transpiled component is cached by digest: the second run does not transpile', async () => {
  const before = fs.readdirSync(path.join(dataDir, 'components')).length;
  const dir = tourDir();
  const r = await runCli(['--data-dir', dataDir, 'run', '--dir', `${dir}::/data`, tourComponent]);
  assert.is(r.code, 0);
  assert.is(fs.readdirSync(path.join(dataDir, 'components')).length, before);
  assert.ok(fs.existsSync(path.join(dataDir, 'components', fs.readdirSync(path.join(dataDir, 'components'))[0]!, 'component.mjs')));
});

test('stored bindings call every sync host import directly; an import lowered async is left as jco made it', async () => {
  // The interop test above ran (and so exercised) these bindings: stdio, files, clocks, random, exit.
  const dirs = fs.readdirSync(path.join(dataDir, 'components')).map((d) => path.join(dataDir, 'components', d, 'component.mjs'));
  const stored = dirs.map((f) => fs.readFileSync(f, 'utf8'));
  for (const source of stored) {
    const trampolines = source.match(/const _trampoline\d+ = function/g)?.length ?? 0;
    assert.ok(trampolines > 0);
    assert.is(source.match(/let trampoline(\d+) = _trampoline\1;/g)?.length, trampolines, 'every host import is a direct call');
    assert.not.match(source, /componentIdx: -1,/, 'no per-call host task is left');
  }
  // The same rewrite on jco's output with one lowering marked async: that import keeps its task code.
  const { transpileBytes } = await import('@bytecodealliance/jco-transpile');
  const out = await transpileBytes(fs.readFileSync(tourComponent), { name: 'component', instantiation: 'async' });
  const original = Buffer.from(out.files['component.js']!).toString('utf8');
  const lowering = /let trampoline(\d+) = _trampoline\1\.manuallyAsync \? [^;]*?isAsync: false,/;
  const n = original.match(lowering)![1]!;
  const marked = original.replace(lowering, (m) => m.replace(/isAsync: false,$/, 'isAsync: true,'));
  const all = directHostImports(original);
  const partial = directHostImports(marked);
  assert.is(partial.direct, all.direct - 1);
  assert.match(partial.source, new RegExp(`let trampoline${n} = _trampoline${n}\\.manuallyAsync \\? `));
  assert.not.match(all.source, new RegExp(`let trampoline${n} = _trampoline${n}\\.manuallyAsync`));
  // And a shape it does not know (a newer jco) is left whole.
  assert.is(directHostImports(original.replaceAll('const hostProvided = true;', 'const hostProvided = 1;')).direct, 0);
});

test('hostile: a spinning component is stopped by --timeout (exit 124)', async () => {
  const r = await runCli(['--data-dir', dataDir, 'run', '--timeout', '300ms', sample('vendors/build/rogue-spin.wasm')]);
  assert.is(r.code, 124, r.stderr);
  assert.match(r.stderr, /time limit of 300 ms exceeded/);
});

test('hostile: a component allocating without bound stops at --max-memory', async () => {
  const r = await runCli(['--data-dir', dataDir, 'run', '--max-memory', '8MiB', sample('vendors/build/rogue-hog.wasm')]);
  assert.match(r.stdout, /allocation refused after [0-7] MiB/);
  assert.is(r.code, 1);
});

test('a service component is not a command: run says where it belongs', async () => {
  const r = await runCli(['--data-dir', dataDir, 'run', sample('vendors/build/dashboard.wasm')]);
  assert.is(r.code, 126);
  assert.match(r.stderr, /is a service .*bulkhead start/);
});

test('a component importing an interface the device does not provide is refused before it runs', async () => {
  const { componentEmbed, componentNew, parse } = await import('@bytecodealliance/jco-transpile/wasm-tools');
  const core = await parse('(module (import "acme:secret/door@1.0.0" "open" (func)) (memory (export "memory") 1) (func (export "_start") call 0))');
  const embedded = await componentEmbed({ binary: core, witSource: 'package acme:secret@1.0.0; interface door { open: func(); } world w { import door; }', world: 'w' });
  const file = path.join(tempDir(), 'door.wasm');
  fs.writeFileSync(file, await componentNew(embedded, []));
  const r = await runCli(['--data-dir', dataDir, 'run', file]);
  assert.is(r.code, 125);
  assert.match(r.stderr, /imports interfaces this device does not provide: acme:secret\/door/);
});

test('garbage is refused as bad input, with the file named', async () => {
  const file = path.join(tempDir(), 'junk.wasm');
  fs.writeFileSync(file, Buffer.from([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0, 9, 9, 9]));
  const r = await runCli(['--data-dir', dataDir, 'run', file]);
  assert.is(r.code, 125);
  assert.match(r.stderr, /junk\.wasm/);
  assert.not.match(r.stderr, /\n\s+at /);
});

test.run();
