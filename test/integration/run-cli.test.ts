// `bulkhead run` end to end, as a user runs it: real child process, real files.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, sample, tempDir } from '../support/paths.js';
import { growLoopModule, tableBombModule } from '../support/tiny-wasm.js';

const hello = sample('hello-as/build/hello.wasm');
const cat = sample('cat-c/build/cat.wasm');

test('hello (AssemblyScript) prints its greeting, args and granted env', async () => {
  const r = await runCli(['run', '--env', 'GREETING=moin', hello, 'one', 'two words']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /Hello from AssemblyScript/);
  assert.match(r.stdout, /arg\[1\]: one\narg\[2\]: two words\n/);
  assert.match(r.stdout, /GREETING=moin/);
});

test('flags after the module belong to the guest', async () => {
  const r = await runCli(['run', hello, '--env', 'X=1']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /arg\[1\]: --env\narg\[2\]: X=1/);
  assert.not.match(r.stdout, /GREETING/);
});

test('the guest gets no host environment unless granted', async () => {
  const r = await runCli(['run', hello]);
  assert.not.match(r.stdout, /GREETING/);
});

test('cat (C) reads stdin and granted files, and only those', async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'note.txt'), 'granted file\n');
  const piped = await runCli(['run', cat], { input: 'from stdin\n' });
  assert.is(piped.stdout, 'from stdin\n');
  const granted = await runCli(['run', '--dir', `${dir}::/data`, cat, '/data/note.txt']);
  assert.is(granted.code, 0, granted.stderr);
  assert.is(granted.stdout, 'granted file\n');
  const denied = await runCli(['run', cat, '/data/note.txt']);
  assert.is(denied.code, 1);
  assert.match(denied.stderr, /cat: \/data\/note.txt: /);
});

test('the guest exit code passes through', async () => {
  for (const code of [0, 3, 42]) {
    const r = await runCli(['run', sample('hostile/build/exit-code.wasm'), String(code)]);
    assert.is(r.code, code);
  }
});

test('a trap exits 134 with one line, no stack trace', async () => {
  const r = await runCli(['run', sample('hostile/build/trap.wasm')]);
  assert.is(r.code, 134);
  assert.is(r.stderr, 'bulkhead: guest trapped: unreachable\n');
});

test('stack overflow is a trap', async () => {
  const r = await runCli(['run', sample('hostile/build/stack-overflow.wasm')]);
  assert.is(r.code, 134);
  assert.match(r.stderr, /^bulkhead: guest trapped: .+\n$/);
});

test('bad input: each gets exit 125 and a one-line message naming the problem', async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'text.wasm'), 'hello, I am text');
  const cases: [string[], RegExp][] = [
    [['run', path.join(dir, 'missing.wasm')], /missing\.wasm: no such file/],
    [['run', path.join(dir, 'text.wasm')], /not a WebAssembly binary/],
    [['run', dir], /is a directory/],
    [['run', '--max-memory', 'lots', hello], /"lots" is not a size/],
    [['run', '--timeout', 'soon', hello], /"soon" is not a duration/],
    [['run', '--isolation', 'vm', hello], /--isolation "vm": expected one of process, worker, none/],
    [['run', '--dir', path.join(dir, 'nope'), hello], /host directory .* does not exist/],
    [['run', '--isolation', 'none', '--timeout', '1s', hello], /--timeout needs --isolation process or worker/],
    [['run', '--max-memory', '16KiB', hello], /at least 64KiB/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args);
    assert.is(r.code, 125, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.is(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}`);
    assert.not.match(r.stderr, /\n\s+at /);
  }
});

test('a truncated module is bad input, not a crash', async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'cut.wasm'), fs.readFileSync(hello).subarray(0, 300));
  const r = await runCli(['run', path.join(dir, 'cut.wasm')]);
  assert.is(r.code, 125);
  assert.match(r.stderr, /truncated/);
});

test('issue 11: --timeout holds while the guest loops on memory.grow (once 19-32 s for 1 s)', async () => {
  const file = path.join(tempDir(), 'grow-loop.wasm');
  fs.writeFileSync(file, growLoopModule());
  const r = await runCli(['run', '--timeout', '1s', file]);
  assert.is(r.code, 124, r.stderr);
  assert.is(r.stderr, 'bulkhead: guest terminated: time limit of 1000 ms exceeded\n');
  // Generous: start-up, a loaded CI machine; the bug took 19 s and more.
  assert.ok(r.ms < 8000, `took ${Math.round(r.ms)} ms`);
});

test('issue 11: a table bomb is bad input (exit 125, one line), not a V8 abort (134 and a native trace)', async () => {
  const file = path.join(tempDir(), 'table-bomb.wasm');
  fs.writeFileSync(file, tableBombModule());
  const r = await runCli(['run', file]);
  assert.is(r.code, 125, r.stderr);
  assert.match(r.stderr, /^bulkhead: .*table-bomb\.wasm: table 0 declares 10000000 elements at start, more than the table cap of 100000\n$/);
});

test('issue 11: --max-memory beyond what wasm32 can address is a bad flag', async () => {
  const r = await runCli(['run', '--max-memory', '100000GiB', hello]);
  assert.is(r.code, 125);
  assert.is(r.stderr, 'bulkhead: --max-memory 100000GiB: at most 4GiB (the largest 32-bit wasm memory)\n');
});

test('--isolation none runs the same guest in-process', async () => {
  const r = await runCli(['run', '--isolation', 'none', hello, 'x']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /arg\[1\]: x/);
});

test('--help lists the wasmtime-style flags', async () => {
  const r = await runCli(['run', '--help']);
  assert.is(r.code, 0);
  for (const flag of ['--dir', '--env', '--max-memory', '--timeout', '--isolation']) assert.match(r.stdout, flag);
});

test.run();
