// Hostile guests: each escape is really attempted, and must be contained and reported.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PREVIEW1_FUNCTIONS } from '../../host-apis/wasi-p1/preview1.js';
import type { GuestRunRequest } from '../../runtime/sandbox/guest-run.js';
import { loadModule } from '../../runtime/sandbox/module-loader.js';
import { runSandboxed } from '../../runtime/sandbox/supervisor.js';
import { runCli, sample, tempDir } from '../support/paths.js';

const MiB = 1024 * 1024;

async function request(wasm: string, args: string[], extra: Partial<GuestRunRequest> = {}): Promise<GuestRunRequest> {
  const memoryCapBytes = extra.memoryCapBytes ?? 64 * MiB;
  const { module } = await loadModule(fs.readFileSync(sample(wasm)), {
    memoryCapBytes, providedImports: new Map([['wasi_snapshot_preview1', PREVIEW1_FUNCTIONS]]), source: wasm,
  });
  return { module, args: [wasm, ...args], env: {}, preopens: [], stdio: 'capture', memoryCapBytes, ...extra };
}

function setupEscapeScene() {
  const outside = tempDir('bulkhead-outside-');
  fs.writeFileSync(path.join(outside, 'secret'), 'OUTSIDE-SECRET\n');
  const jail = tempDir('bulkhead-jail-');
  fs.symlinkSync(path.join(outside, 'secret'), path.join(jail, 'planted-abs'));
  fs.symlinkSync(path.relative(jail, path.join(outside, 'secret')), path.join(jail, 'planted-rel'));
  fs.symlinkSync(path.relative(jail, outside), path.join(jail, 'planted-dir'));
  return { outside, jail };
}

test('path traversal, absolute paths and symlink escapes are all blocked', async () => {
  const { outside, jail } = setupEscapeScene();
  const r = await runCli(['run', '--dir', `${jail}::/jail`, sample('hostile/build/escape.wasm'), '/jail', path.join(outside, 'secret')]);
  const lines = r.stdout.trim().split('\n');
  assert.is(lines.length, 6, r.stdout + r.stderr);
  for (const line of lines) assert.match(line, /: BLOCKED \(/, line);
  assert.is(r.code, 0, 'escape.wasm exits 1 if any attempt got out');
  assert.match(r.stdout, /absolute host path: BLOCKED \(Capabilities insufficient\)/);
  assert.match(r.stdout, /dot-dot traversal: BLOCKED \(Capabilities insufficient\)/);
  assert.match(r.stdout, /follow pre-planted absolute symlink: BLOCKED \(Capabilities insufficient\)/);
  assert.not.ok(fs.existsSync(path.join(jail, 'link-out')), 'no absolute symlink was created');
});

test('a read-only preopen refuses every kind of write and stays unchanged', async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'existing.txt'), 'original');
  fs.mkdirSync(path.join(dir, 'subdir'));
  const r = await runCli(['run', '--dir', `${dir}::/ro:ro`, sample('hostile/build/write-readonly.wasm'), '/ro']);
  const lines = r.stdout.trim().split('\n');
  assert.is(lines.length, 9, r.stdout);
  for (const line of lines) assert.match(line, /: BLOCKED \(/, line);
  assert.is(r.code, 0);
  assert.equal(fs.readdirSync(dir).sort(), ['existing.txt', 'subdir']);
  assert.is(fs.readFileSync(path.join(dir, 'existing.txt'), 'utf8'), 'original');
});

test('the same writes succeed on a read-write preopen (the hostile test can fail)', async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'existing.txt'), 'original');
  fs.mkdirSync(path.join(dir, 'subdir'));
  const r = await runCli(['run', '--dir', `${dir}::/rw`, sample('hostile/build/write-readonly.wasm'), '/rw']);
  assert.is(r.code, 1);
  assert.match(r.stdout, /create file: WROTE/);
  assert.ok(fs.existsSync(path.join(dir, 'new-file')));
});

test('an infinite loop is terminated at its timeout, within 50 ms, while another sandbox keeps serving', async () => {
  const loop = runSandboxed(await request('hostile/build/infinite-loop.wasm', []), { isolation: 'worker', timeoutMs: 1500 });
  const helloRequest = await request('hello-as/build/hello.wasm', ['meanwhile']);
  const meanwhile = await runSandboxed(helloRequest, { isolation: 'worker' });
  assert.equal(meanwhile.outcome, { kind: 'exit', code: 0 });
  assert.match(meanwhile.stdout!, /arg\[1\]: meanwhile/);
  const looped = await loop;
  assert.equal(looped.outcome, { kind: 'timeout', limitMs: 1500 });
  assert.ok(looped.runMs >= 1500, `ran ${looped.runMs} ms`);
});

test('the CLI reports a timeout with exit 124', async () => {
  const r = await runCli(['run', '--timeout', '300ms', sample('hostile/build/infinite-loop.wasm')]);
  assert.is(r.code, 124);
  assert.is(r.stderr, 'bulkhead: guest terminated: time limit of 300 ms exceeded\n');
});

test('a memory bomb stops at its cap; the host does not grow with it', async () => {
  const before = process.memoryUsage().rss;
  const result = await runSandboxed(await request('hostile/build/memory-bomb.wasm', [], { memoryCapBytes: 48 * MiB }), { isolation: 'worker' });
  assert.is(result.outcome.kind, 'memory-limit', JSON.stringify(result.outcome));
  assert.match(result.stderr!, /malloc failed after 4[67] MiB/);
  // The cap plus a worker's own overhead (an isolate, ~10-20 MiB); without the cap the bomb would
  // have taken the default 256 MiB.
  const grown = process.memoryUsage().rss - before;
  assert.ok(grown < 48 * MiB + 40 * MiB, `host RSS grew by ${Math.round(grown / MiB)} MiB`);
});

test('the CLI reports the memory cap with exit 137', async () => {
  const r = await runCli(['run', '--max-memory', '24MiB', sample('hostile/build/memory-bomb.wasm')]);
  assert.is(r.code, 137);
  assert.match(r.stderr, /bulkhead: guest stopped: memory limit of 24 MiB reached/);
});

test('a trap or proc_exit in one sandbox does not disturb its neighbours', async () => {
  const results = await Promise.all([
    runSandboxed(await request('hostile/build/trap.wasm', []), { isolation: 'worker' }),
    runSandboxed(await request('hostile/build/exit-code.wasm', ['7']), { isolation: 'worker' }),
    runSandboxed(await request('hostile/build/stack-overflow.wasm', []), { isolation: 'worker' }),
    runSandboxed(await request('hello-as/build/hello.wasm', ['still-here']), { isolation: 'worker' }),
  ]);
  assert.is(results[0]!.outcome.kind, 'trap');
  assert.equal(results[1]!.outcome, { kind: 'exit', code: 7 });
  assert.is(results[2]!.outcome.kind, 'trap');
  assert.equal(results[3]!.outcome, { kind: 'exit', code: 0 });
  assert.match(results[3]!.stdout!, /still-here/);
});

test('a directory component swapped for an outside symlink while the guest runs never leaks', async () => {
  const { outside, jail } = setupEscapeScene();
  const real = path.join(jail, 'real');
  fs.mkdirSync(real);
  fs.writeFileSync(path.join(real, 'secret'), 'inside\n');
  const iterations = 20000;
  const guest = runSandboxed(await request('hostile/build/swap-race.wasm', ['/jail', 'a/secret', String(iterations)], {
    preopens: [{ hostPath: jail, guestPath: '/jail', readOnly: false }],
  }), { isolation: 'worker', timeoutMs: 60_000 });
  // Flip jail/a between the real directory and a relative symlink to the outside, as fast as we can.
  const a = path.join(jail, 'a');
  const escapeTarget = path.relative(jail, outside);
  let done = false;
  let flips = 0;
  void guest.then(() => { done = true; });
  while (!done) {
    fs.rmSync(a, { force: true, recursive: false });
    fs.symlinkSync(flips % 2 === 0 ? 'real' : escapeTarget, a);
    flips++;
    if (flips % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  const result = await guest;
  assert.equal(result.outcome, { kind: 'exit', code: 0 }, result.stdout);
  assert.match(result.stdout!, /LEAKED 0\n/);
  const opened = Number(/OPENED (\d+)/.exec(result.stdout!)![1]);
  assert.ok(opened > 0, 'some opens went through the real directory, so the race was exercised');
  assert.ok(flips > 100, `flipped ${flips} times`);
});

test.run();
