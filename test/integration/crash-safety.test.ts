// Crash safety through the real CLI and daemon (issues 10.6 and 11): kill -9 at injected points,
// parallel CLIs, a guest that blocks in start(), a table bomb, crash-loop quarantine, stale and
// zombie daemons. Every check reads what an operator would: `status`, `audit`, exit codes.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { packPackage } from '../../packages/archive/pack-package.js';
import { signPackageFile } from '../../packages/signing/package-signature.js';
import { makeKey } from '../support/package-fixtures.js';
import { bulkheadBin, repoRoot, runCli, sample, tempDir } from '../support/paths.js';
import { tableBombModule } from '../support/tiny-wasm.js';

const dataDir = tempDir('bulkhead-crash-');
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(['--data-dir', dataDir, ...args], { env });
const json = async (...args: string[]) => {
  const r = await cli([...args, '--json']);
  assert.ok(r.code === 0 || r.code === 1, `${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};
type App = { appId: string; actual: string; desired: string; reason: string | null };
const status = async () => (await json('status')) as { daemon: number | null; apps: App[]; sandboxes: { vendor: string; state: string; reason: string | null }[] };
const appOf = async (id: string) => (await status()).apps.find((a) => a.appId === id)!;
const stopDaemon = async () => assert.is((await cli(['daemon', '--stop'])).code, 0);
/** Stops every app, so the next daemon restarts nothing left over from an earlier test. */
async function stopAll() {
  const running = (await status()).apps.filter((a) => a.desired === 'running').map((a) => a.appId);
  if (running.length) assert.is((await cli(['stop', ...running])).code, 0);
  await stopDaemon();
}
async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const IDLE_APPS = ['a1', 'a2', 'a3', 'b1', 'b2', 'b3'];

/** A signed package of one component (a service or a preview1 module) for `vendor`. */
async function install(appId: string, vendor: string, wasm: Buffer, kind: 'component' | 'module', keys: Map<string, Awaited<ReturnType<typeof makeKey>>>) {
  let key = keys.get(vendor);
  if (!key) {
    key = await makeKey();
    keys.set(vendor, key);
    const r = await cli(['trust', 'add', key.publicFile, '--vendor', vendor]);
    assert.is(r.code, 0, r.stderr);
  }
  const dir = tempDir('bulkhead-crashpkg-');
  fs.mkdirSync(path.join(dir, 'components'));
  fs.writeFileSync(path.join(dir, 'components', 'main.wasm'), wasm);
  fs.writeFileSync(path.join(dir, 'margo.yaml'), `apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
metadata:
  id: ${appId}
  name: ${appId}
  version: 1.0.0
  catalog: { organization: [{ name: ${JSON.stringify(vendor)} }] }
deploymentProfiles:
  - type: x-bulkhead-wasm
    components:
      - { name: main, properties: { module: components/main.wasm, kind: ${kind}, limits: { memory: 4Mi } } }
`);
  const file = path.join(tempDir('bulkhead-crashpkg-'), `${appId}.bhpkg`);
  await packPackage(dir, file);
  await signPackageFile(file, key.key, { id: appId, version: '1.0.0', vendor }, `${file}.minisig`);
  const r = await cli(['install', file]);
  assert.is(r.code, 0, r.stderr);
}

test.before(async () => {
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:
  Vendor A: { wasm: { memory: 4Mi } }
  Vendor B: { wasm: { memory: 4Mi } }
  Sleepy Labs: { wasm: { memory: 4Mi, callTimeout: 8s } }
  Bomb Labs: { wasm: { memory: 4Mi } }
`);
  const keys = new Map();
  const idle = fs.readFileSync(sample('bench-c/build/idle.wasm'));
  for (const id of IDLE_APPS) await install(id, id.startsWith('a') ? 'Vendor A' : 'Vendor B', idle, 'component', keys);
  await install('sleeper', 'Sleepy Labs', fs.readFileSync(sample('vendors/build/rogue-sleeper.wasm')), 'component', keys);
  await install('sleepy-idle', 'Sleepy Labs', idle, 'component', keys);
  await install('bomb', 'Bomb Labs', tableBombModule(), 'module', keys);
});

test.after(async () => {
  await cli(['daemon', '--stop']);
});

test('six parallel starts with no daemon running: every one starts (no commit is swallowed)', async () => {
  const results = await Promise.all(IDLE_APPS.map((id) => cli(['start', id, '--timeout', '30'])));
  for (const [i, r] of results.entries()) assert.is(r.code, 0, `${IDLE_APPS[i]}: ${r.stdout} ${r.stderr}`);
  const s = await status();
  assert.equal(s.apps.filter((a) => IDLE_APPS.includes(a.appId)).map((a) => a.actual), IDLE_APPS.map(() => 'running'));
  const stopped = await Promise.all(IDLE_APPS.map((id) => cli(['stop', id])));
  for (const r of stopped) assert.is(r.code, 0, r.stderr);
  assert.ok((await status()).apps.filter((a) => IDLE_APPS.includes(a.appId)).every((a) => a.actual === 'stopped'));
});

test('issue 10.6: a start() that blocks fails its app at the call time limit; other vendors start and stop meanwhile', async () => {
  assert.is((await cli(['start', 'sleepy-idle'])).code, 0);
  let sleeperDone = false;
  const sleeper = cli(['start', 'sleeper']).then((r) => { sleeperDone = true; return r; });
  await until('the sleeper is starting', async () => (await appOf('sleeper'))?.actual === 'starting');
  const other = await cli(['start', 'a1']);
  assert.is(other.code, 0, other.stderr);
  const stop = await cli(['stop', 'a1']);
  assert.is(stop.code, 0, stop.stderr);
  assert.not.ok(sleeperDone, "another vendor's start and stop did not wait for the blocked guest");
  const r = await sleeper;
  assert.is(r.code, 1);
  assert.match(r.stdout, /^sleeper: failed \(call time limit: sleeper\/main#\d+ spent \d+\.\d s in start\(\) \(limit 8 s\)\)\n$/);
  // The daemon's own log says the same: a1 ran and was stopped while the guest blocked.
  const log = fs.readFileSync(path.join(dataDir, 'daemon.log'), 'utf8');
  const at = (line: string) => log.lastIndexOf(line);
  assert.ok(at('starting sleeper') < at('a1: running') && at('stopping a1') < at('sandbox Sleepy Labs went down'), log.slice(at('starting sleeper')));
  const audit = (await json('audit', '--app', 'sleeper')).events as { capability: string }[];
  assert.ok(audit.some((e) => e.capability === 'time'));
  // The vendor's other service shared the thread: it went down with it and is restarted (it is
  // not to blame, so nothing counts against it).
  await until('sleepy-idle running again', async () => (await appOf('sleepy-idle')).actual === 'running');
  assert.is((await cli(['stop', 'sleepy-idle'])).code, 0);
});

test('issue 11: a table bomb fails its own start; the daemon and another vendor keep running', async () => {
  assert.is((await cli(['start', 'b1'])).code, 0);
  const pid = (await status()).daemon;
  const r = await cli(['start', 'bomb']);
  assert.is(r.code, 1);
  assert.match(r.stdout, /bomb: failed \(main: instantiation failed: table 0 declares 10000000 elements at start, more than the table cap of 100000\)/);
  const s = await status();
  assert.is(s.daemon, pid, 'the same daemon');
  assert.is(s.apps.find((a) => a.appId === 'b1')!.actual, 'running');
});

test('kill -9 while starting: status never shows the dead run live; the next daemon quarantines that app instead of dying again', async () => {
  await stopAll();
  assert.is((await cli(['start', 'b1'])).code, 0);
  await stopDaemon(); // b1 stays desired running: the next daemon restarts it
  const r = await cli(['start', 'b2'], { BULKHEAD_TEST_CRASH_AT: 'starting:b2' });
  assert.is(r.code, 1);
  assert.match(r.stderr, /the daemon for .* stopped/);
  const dead = await status();
  assert.is(dead.daemon, null);
  for (const a of dead.apps) assert.ok(a.actual !== 'running' && a.actual !== 'starting', `${a.appId} shown ${a.actual}`);
  assert.ok(dead.sandboxes.every((s) => s.state === 'stopped'));
  const one = (await json('status', 'b2')) as { instances: { state: string }[] };
  assert.ok(one.instances.every((i) => i.state !== 'running' && i.state !== 'starting'));

  // A new daemon (started for another app) does not start b2 again: that would kill it too.
  assert.is((await cli(['start', 'a2'])).code, 0);
  const b2 = await until('b2 settled', async () => { const a = await appOf('b2'); return a.actual === 'failed' && a; });
  assert.match(b2.reason ?? '', /^quarantined: its start took the whole daemon down \(the daemon \(pid \d+\) died while starting it .*\); to try again: bulkhead start b2$/);
  assert.is((await appOf('b1')).actual, 'running', 'what was running before the kill runs again');
  // The operator clears it by starting it again.
  assert.is((await cli(['start', 'b2'])).code, 0);
  assert.is((await appOf('b2')).actual, 'running');
});

test('kill -9 while stopping: the stopped app is not shown running, and stays stopped with the next daemon', async () => {
  await stopDaemon();
  assert.is((await cli(['start', 'a3'], { BULKHEAD_TEST_CRASH_AT: 'stopping:a3' })).code, 0);
  const r = await cli(['stop', 'a3']);
  assert.is(r.code, 1, 'the daemon died under the stop');
  const s = await status();
  assert.is(s.daemon, null);
  assert.is(s.apps.find((a) => a.appId === 'a3')!.actual, 'stopped');
  const inst = (await json('status', 'a3')) as { instances: { state: string }[] };
  assert.ok(inst.instances.every((i) => i.state === 'stopped'), JSON.stringify(inst.instances));
  assert.is((await cli(['start', 'b3'])).code, 0);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const after = await status();
  assert.is(after.apps.find((a) => a.appId === 'a3')!.actual, 'stopped', 'a stop is carried out even across a kill');
  assert.is(after.apps.find((a) => a.appId === 'a3')!.desired, 'stopped');
});

test('a stale lock file naming another live process: not a daemon, and daemon --stop never signals it', async () => {
  await stopDaemon();
  const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    fs.writeFileSync(path.join(dataDir, 'daemon.lock'), `${bystander.pid}\n`);
    fs.writeFileSync(path.join(dataDir, 'daemon.pid'), `${bystander.pid}\n`);
    assert.is((await status()).daemon, null);
    assert.is((await cli(['daemon', '--stop'])).code, 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.is(bystander.exitCode, null, 'the bystander was not signalled');
    assert.is(bystander.signalCode, null);
    assert.is((await cli(['start', 'a1'])).code, 0, 'and a daemon starts');
  } finally {
    bystander.kill('SIGKILL');
  }
});

test('a killed daemon left as a zombie does not count as running: start right after kill -9 works', async () => {
  await stopDaemon();
  // The daemon's parent is a `sleep` that never reaps it, so after kill -9 it stays a zombie.
  const parent: ChildProcess = spawn('bash', ['-c', `"${process.execPath}" "${bulkheadBin}" --data-dir "${dataDir}" daemon 2>/dev/null & exec sleep 60`], { cwd: repoRoot, stdio: 'ignore' });
  try {
    const pid = await until('daemon up', async () => (await status()).daemon ?? undefined);
    process.kill(pid, 'SIGKILL');
    await until('zombie', async () => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z'));
    const r = await cli(['start', 'a2']);
    assert.is(r.code, 0, r.stderr);
    const s = await status();
    assert.ok(s.daemon !== null && s.daemon !== pid);
  } finally {
    parent.kill('SIGKILL');
  }
});

test('bad input: an unknown policy field is named; a data dir under /proc fails at once instead of spinning', async () => {
  const dir = tempDir('bulkhead-crash-policy-');
  fs.writeFileSync(path.join(dir, 'policy.yaml'), 'vendors:\n  V:\n    wasm: { memroy: 4Mi }\n');
  const r = await runCli(['--data-dir', dir, 'status']);
  assert.is(r.code, 125);
  assert.match(r.stderr, /^bulkhead: .*policy\.yaml: vendors\.V\.wasm: unknown field "memroy"\n$/);
  const p = await runCli(['--data-dir', '/proc/nope', 'status']);
  assert.is(p.code, 1);
  assert.is(p.stderr, 'bulkhead: cannot open the state database in /proc/nope: cannot create the data dir /proc/nope (ENOENT); choose another with --data-dir or BULKHEAD_DATA_DIR\n');
  assert.ok(p.ms < 5000, `${p.ms} ms`);
});

test.run();
