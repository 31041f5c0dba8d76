// Multi-vendor component sandboxes, in one run, through the same AppHost the daemon uses:
//   host-API call cost from inside a component (kv get, log write, config get) in a fresh sandbox
//   and in one holding 100 instances, beside the same component with jco's bindings as generated
//   (interleaved); a message round trip between two vendors' sandboxes; a CPU-bound guest in a
//   vendor sandbox beside the same module in-process (interleaved); instance start (warm: transpile
//   cached, vendor sandbox running; cold: a new vendor sandbox thread); and idle memory per instance
//   and per vendor sandbox, with how many idle instances fit in 1 GiB.
// Imports the compiled runtime from dist/ so sandbox threads start as they do in production.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { transpileBytes } from '@bytecodealliance/jco-transpile';
import { AppHost } from '../dist/runtime/apps/app-host.js';
import { prepareComponent } from '../dist/runtime/apps/component-cache.js';
import { cpuLoopModule } from '../test/support/tiny-wasm.js';
import { loadDevicePolicy } from '../dist/runtime/state/device-policy.js';
import { openStateDb } from '../dist/runtime/state/state-db.js';
import { writeReport } from './support/report.js';
import { median, type Sample } from './support/stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.BENCH_ITERATIONS ?? 20);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-bench-components-'));
const progress = (label: string) => process.stderr.write(`bench: ${label}\n`);

fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:
  Bench A:
    wasm: { kvQuota: 1Mi, publish: ["bench/#"], subscribe: ["bench/#"], logRate: 100000000, publishRate: 100000000, publishBytes: 1Gi, memory: 4Mi, memoryTotal: 64Gi, maxInstances: 100000, cpu: 1 }
  Bench B:
    wasm: { publish: ["bench/#"], subscribe: ["bench/#"], logRate: 100000000, publishRate: 100000000, publishBytes: 1Gi, memory: 4Mi, cpu: 1 }
  Bench Idle:
    wasm: { memory: 4Mi, memoryTotal: 64Gi, maxInstances: 100000 }
`);

/** An installed-package record for a directory built here (the bench skips signing: not what it measures). */
function app(appId: string, vendor: string, components: Record<string, string>, params: Record<string, string> = {}, caps = '') {
  const dir = path.join(dataDir, 'apps', appId);
  fs.mkdirSync(path.join(dir, 'components'), { recursive: true });
  // A name is a sample in samples/bench-c/build; an absolute path is a file made here.
  for (const file of new Set(Object.values(components))) fs.copyFileSync(path.isAbsolute(file) ? file : path.join(root, 'samples/bench-c/build', file), path.join(dir, 'components', path.basename(file)));
  const parameters = Object.entries(params).map(([k, v]) => `  ${k}:\n    value: "${v}"\n    targets: [{ pointer: ${k}, components: [${Object.keys(components).join(', ')}] }]`).join('\n');
  fs.writeFileSync(path.join(dir, 'margo.yaml'), `apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
metadata:
  id: ${appId}
  name: ${appId}
  version: 1.0.0
  catalog: { organization: [{ name: ${vendor} }] }
deploymentProfiles:
  - type: x-bulkhead-wasm
    components:
${Object.entries(components).map(([name, file]) => `      - name: ${name}\n        properties:\n          module: components/${path.basename(file)}\n          limits: { memory: 4Mi }\n${caps}`).join('\n')}
${parameters ? `parameters:\n${parameters}` : ''}
`);
  return { appId, version: '1.0.0', vendor, digest: '', path: dir, installedAt: '' };
}

const db = openStateDb(dataDir);
const host = new AppHost({ dataDir, db, policy: () => loadDevicePolicy(dataDir) });
const rows: Sample[] = [];
const notes: string[] = [];

async function benchRecords(appId: string, call: string, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    host.flushLogs();
    const hit = host.records.logs(appId).reverse().find((r) => r.message === 'bench' && r.fields.call === call);
    if (hit) return Number(hit.fields.ns_per_call);
    if (Date.now() > deadline) throw new Error(`no ${call} result from ${appId}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- host-API calls ----
progress('host-API calls from a component');
const hostcalls = app('bench-hostcalls', 'Bench A', { calls: 'hostcalls.wasm' }, {}, '          capabilities: { kv: { quota: 64Ki } }');
const perCall: Record<string, number[]> = { 'kv.get': [], 'log.write': [], 'config.get': [] };
for (let i = 0; i < Math.max(3, Math.min(N, 8)); i++) {
  db.prepare('DELETE FROM app_logs').run();
  await host.start(hostcalls);
  const state = await host.ended('bench-hostcalls');
  if (state !== 'completed') throw new Error(`hostcalls ended ${state}: ${host.records.app('bench-hostcalls')?.reason}`);
  for (const call of Object.keys(perCall)) perCall[call]!.push(await benchRecords('bench-hostcalls', call) / 1000);
}
rows.push({ label: 'kv.get from a component (SQLite read, 16-byte value)', unit: 'us', samples: perCall['kv.get']!, note: '20000 calls per run, timed in the guest' });
rows.push({ label: 'log.write from a component (rate check + record to the supervisor)', unit: 'us', samples: perCall['log.write']!, note: 'storing in SQLite happens later, batched' });
rows.push({ label: 'config.get from a component (bindings alone, no I/O)', unit: 'us', samples: perCall['config.get']! });

// ---- the same calls in a long-lived sandbox holding 100 instances, beside jco's bindings as generated ----
// The baseline is the same component with one custom section more (so it has its own cache entry),
// whose stored bindings are jco's output with only the JCO_DEBUG lookup trimmed, as stored before
// issue 16 (every host call through jco's async task machinery). Runs alternate between the two.
progress('host-API calls, sandbox with 100 instances: stored bindings vs jco as generated');
const crowd = app('bench-crowd', 'Bench A', Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`i${i}`, 'idle.wasm'])));
if (await host.start(crowd) !== 'running') throw new Error(`crowd: ${host.records.app('bench-crowd')?.reason}`);
const variantDir = path.join(dataDir, 'variants');
fs.mkdirSync(variantDir, { recursive: true });
const jcoFile = path.join(variantDir, 'hostcalls-jco.wasm');
const jcoBytes = Buffer.concat([fs.readFileSync(path.join(root, 'samples/bench-c/build/hostcalls.wasm')), Buffer.from([0, 6, 5, ...Buffer.from('bench')])]);
fs.writeFileSync(jcoFile, jcoBytes);
const jcoDir = (await prepareComponent(jcoBytes, dataDir, 'bench')).dir;
const generated = Buffer.from((await transpileBytes(jcoBytes, { name: 'component', instantiation: 'async' })).files['component.js']!).toString('utf8');
fs.writeFileSync(path.join(jcoDir, 'component.mjs'), generated.replace('if (!globalThis?.process?.env?.JCO_DEBUG) { return; }', 'return;'));
const hostcallsJco = app('bench-hostcalls-jco', 'Bench A', { calls: jcoFile }, {}, '          capabilities: { kv: { quota: 64Ki } }');
const crowded: Record<string, Record<string, number[]>> = { stored: { 'kv.get': [], 'log.write': [], 'config.get': [] }, jco: { 'kv.get': [], 'log.write': [], 'config.get': [] } };
for (let i = 0; i < Math.max(3, Math.min(N, 8)); i++) {
  for (const [which, pkg] of [['stored', hostcalls], ['jco', hostcallsJco]] as const) {
    db.prepare('DELETE FROM app_logs').run();
    await host.start(pkg);
    const state = await host.ended(pkg.appId);
    if (state !== 'completed') throw new Error(`${pkg.appId} ended ${state}: ${host.records.app(pkg.appId)?.reason}`);
    for (const call of Object.keys(perCall)) crowded[which]![call]!.push(await benchRecords(pkg.appId, call) / 1000);
  }
}
await host.stop('bench-crowd');
for (const call of ['config.get', 'kv.get', 'log.write']) {
  rows.push({ label: `${call}, sandbox with 100 instances, stored bindings`, unit: 'us', samples: crowded.stored![call]! });
  rows.push({ label: `${call}, sandbox with 100 instances, jco's bindings as generated (before)`, unit: 'us', samples: crowded.jco![call]!, note: 'interleaved with the row above' });
}

// ---- message round trip between two vendors ----
progress('message round trip between two vendor sandboxes');
const echo = app('bench-echo', 'Bench A', { echo: 'echo.wasm' }, {}, '          capabilities: { messaging: { subscribe: [bench/ping], publish: [bench/pong] } }');
const pinger = app('bench-pinger', 'Bench B', { pinger: 'pinger.wasm' }, { rounds: '2000' }, '          capabilities: { messaging: { subscribe: [bench/pong], publish: [bench/ping] } }');
if (await host.start(echo) !== 'running') throw new Error('echo did not start');
const roundTrips: number[] = [];
for (let i = 0; i < Math.max(3, Math.min(N, 8)); i++) {
  db.prepare("DELETE FROM app_logs WHERE app_id = 'bench-pinger'").run();
  if (await host.start(pinger) !== 'running') throw new Error('pinger did not start');
  roundTrips.push(await benchRecords('bench-pinger', 'message.round-trip') / 1000);
  await host.stop('bench-pinger');
}
rows.push({ label: 'message round trip, vendor B -> vendor A -> vendor B', unit: 'us', samples: roundTrips, note: '2000 round trips per run; two sandbox threads over their direct link' });

// ---- a CPU-bound guest: vendor sandbox vs in-process ----
// The same preview1 module (xorshift rounds, no host calls): as an app in a vendor sandbox, timed
// from start to its end (so start-up counts against the sandbox), and compiled and run on this
// thread. Runs alternate.
progress('CPU-bound guest: vendor sandbox vs in-process');
const loopBytes = cpuLoopModule(80_000_000);
const loopFile = path.join(variantDir, 'cpu-loop.wasm');
fs.writeFileSync(loopFile, loopBytes);
const loopApp = app('bench-cpu', 'Bench A', { loop: loopFile });
const inSandbox: number[] = [];
const inProcess: number[] = [];
const loopModule = await WebAssembly.compile(loopBytes as Uint8Array<ArrayBuffer>);
for (let i = 0; i < Math.max(3, Math.min(N, 6)); i++) {
  // A job is reported running just before its guest code starts: from there to its end is the guest's run.
  if (await host.start(loopApp) !== 'running') throw new Error(`cpu loop: ${host.records.app('bench-cpu')?.reason}`);
  let t0 = performance.now();
  if (await host.ended('bench-cpu') !== 'completed') throw new Error(`cpu loop: ${host.records.app('bench-cpu')?.reason}`);
  inSandbox.push(performance.now() - t0);
  const instance = await WebAssembly.instantiate(loopModule, {});
  t0 = performance.now();
  (instance.exports._start as () => void)();
  inProcess.push(performance.now() - t0);
}
rows.push({ label: 'CPU-bound guest (80M xorshift rounds) in a vendor sandbox, running to ended', unit: 'ms', samples: inSandbox, note: 'includes reporting its end to the supervisor' });
rows.push({ label: 'the same module run in-process (_start alone)', unit: 'ms', samples: inProcess, note: 'interleaved with the row above' });

// ---- instance start ----
progress('instance start, warm');
const keepAlive = app('bench-keepalive', 'Bench Idle', { idle: 'idle.wasm' });
await host.start(keepAlive); // the vendor's sandbox thread is up, the component compiled
const single = app('bench-start', 'Bench Idle', { idle: 'idle.wasm' });
const warm: number[] = [];
for (let i = 0; i < N + 2; i++) {
  const t0 = performance.now();
  if (await host.start(single) !== 'running') throw new Error('start failed');
  const ms = performance.now() - t0;
  if (i >= 2) warm.push(ms);
  await host.stop('bench-start');
}
rows.push({ label: 'instance start, warm (transpile cached, vendor sandbox running), to running', unit: 'ms', samples: warm, note: 'plan + instantiate + app.start' });

progress('instance start, cold sandbox');
const cold: number[] = [];
for (let i = 0; i < Math.min(N, 10); i++) {
  fs.appendFileSync(path.join(dataDir, 'policy.yaml'), `  Cold ${i}:\n    wasm: { memory: 4Mi }\n`);
  const a = app(`bench-cold-${i}`, `Cold ${i}`, { idle: 'idle.wasm' });
  const t0 = performance.now();
  if (await host.start(a) !== 'running') throw new Error('cold start failed');
  cold.push(performance.now() - t0);
  await host.stop(a.appId);
  await host.sandboxOf(`Cold ${i}`)?.terminate();
}
rows.push({ label: 'instance start, cold (a new vendor sandbox thread), to running', unit: 'ms', samples: cold });
await host.stop('bench-keepalive');
await host.stop('bench-echo');

// ---- idle memory ----
// Measured inside the sandbox threads (V8 heap + external memory, which holds wasm memories),
// after a full GC there, and as the process's RSS growth for comparison.
const settle = async () => {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 300));
  return process.memoryUsage().rss;
};
const isolateBytes = async (vendor: string) => {
  const s = (await host.sandboxOf(vendor)!.stats(true))!;
  return s.heapUsed + s.external;
};
progress('idle memory per instance');
const K = 100;
const many = app('bench-idle-many', 'Bench Idle', Object.fromEntries(Array.from({ length: K }, (_, i) => [`i${i}`, 'idle.wasm'])));
await host.start(app('bench-idle-one', 'Bench Idle', { idle: 'idle.wasm' })); // sandbox up first
const rssBefore = await settle();
const heapBefore = await isolateBytes('Bench Idle');
if (await host.start(many) !== 'running') throw new Error(`idle-many: ${host.records.app('bench-idle-many')?.reason}`);
const perInstance = (await isolateBytes('Bench Idle') - heapBefore) / K;
const perInstanceRss = (await settle() - rssBefore) / K;
await host.stop('bench-idle-many');

progress('idle memory per vendor sandbox');
const V = 10;
const beforeSandboxes = await settle();
for (let i = 0; i < V; i++) {
  fs.appendFileSync(path.join(dataDir, 'policy.yaml'), `  Idle ${i}:\n    wasm: { memory: 4Mi }\n`);
  if (await host.start(app(`bench-idle-vendor-${i}`, `Idle ${i}`, { idle: 'idle.wasm' })) !== 'running') throw new Error('idle vendor failed');
}
const perSandbox = (await settle() - beforeSandboxes) / V - perInstance;
const oneIsolate = await isolateBytes('Idle 0');
const MiB = 1024 * 1024;
const mib = (n: number) => `${(n / MiB).toFixed(2)} MiB`;
rows.push({ label: 'idle instance: sandbox heap + wasm memory growth per instance (100 in one sandbox)', unit: 'ms', samples: [], note: `${mib(perInstance)} (process RSS growth: ${mib(perInstanceRss)})` });
rows.push({ label: 'idle vendor sandbox: process RSS per sandbox thread, beyond its instance', unit: 'ms', samples: [], note: `${mib(perSandbox)} (its isolate alone: ${mib(oneIsolate)})` });
await host.close();
db.close();

const fit = Math.floor((1024 * MiB - perSandbox) / perInstance);
const get = (prefix: string) => median(rows.find((r) => r.label.startsWith(prefix))?.samples ?? [NaN]);
notes.push('Memory (RSS of the whole process, which includes the sandbox threads):', '',
  `- one idle instance: ${mib(perInstance)}; one vendor sandbox thread: ${mib(perSandbox)}`,
  `- idle instances in 1 GiB: about ${fit} in one vendor sandbox, or ${Math.floor(1024 * MiB / (perSandbox + perInstance))} if each is its own vendor`,
  '', 'Ratios (medians):', '',
  `- cold / warm instance start: ${(get('instance start, cold') / get('instance start, warm')).toFixed(1)}x (what keeping one sandbox per vendor saves)`,
  `- kv.get / config.get: ${(get('kv.get') / get('config.get')).toFixed(1)}x (the kv read cache behind the bindings)`,
  ...['config.get', 'kv.get', 'log.write'].map((call) => `- ${call} with 100 instances, jco's bindings as generated / stored bindings: ${(get(`${call}, sandbox with 100 instances, jco's`) / get(`${call}, sandbox with 100 instances, stored`)).toFixed(1)}x`),
  `- CPU-bound guest, in-process / vendor sandbox: ${(get('the same module run in-process') / get('CPU-bound guest')).toFixed(2)}x (1.00 = no cost for the sandbox)`,
  '', 'Rows with n = 0 carry their value in the note column.');
writeReport('components', 'Component sandboxes: host-API calls, messaging, instance start, idle memory', rows, notes);
fs.rmSync(dataDir, { recursive: true, force: true });
