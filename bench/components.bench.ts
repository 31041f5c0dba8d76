// Multi-vendor component sandboxes, in one run, through the same AppHost the daemon uses:
//   host-API call cost from inside a component (kv get, log write, config get), a message round
//   trip between two vendors' sandboxes, instance start (warm: transpile cached, vendor sandbox
//   running; cold: a new vendor sandbox thread), and idle memory per instance and per vendor
//   sandbox, with how many idle instances fit in 1 GiB.
// Imports the compiled runtime from dist/ so sandbox threads start as they do in production.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppHost } from '../dist/runtime/apps/app-host.js';
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
  for (const file of new Set(Object.values(components))) fs.copyFileSync(path.join(root, 'samples/bench-c/build', file), path.join(dir, 'components', file));
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
${Object.entries(components).map(([name, file]) => `      - name: ${name}\n        properties:\n          module: components/${file}\n          limits: { memory: 4Mi }\n${caps}`).join('\n')}
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
rows.push({ label: 'message round trip, vendor B -> vendor A -> vendor B', unit: 'us', samples: roundTrips, note: '2000 round trips per run; two sandbox threads, the bus twice' });

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
  `- kv.get / config.get: ${(get('kv.get') / get('config.get')).toFixed(1)}x (SQLite behind the bindings)`,
  '', 'Rows with n = 0 carry their value in the note column.');
writeReport('components', 'Component sandboxes: host-API calls, messaging, instance start, idle memory', rows, notes);
fs.rmSync(dataDir, { recursive: true, force: true });
