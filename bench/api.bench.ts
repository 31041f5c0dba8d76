// The management API and the thin client. API latency (p50/p99) of /v1/status, /v1/apps and
// /v1/audit at concurrency 1 and 64, over the unix socket and over mTLS, against a real daemon
// process; and the CLI's start-up cost: `bulkhead status` (through the API) and `bulkhead --version`
// next to `node -e 0` in the same run. Goals (issue 13): status within 1.5x and --version/--help
// within 2x of `node -e 0`.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Pool } from 'undici';
import { AppRecords } from '../runtime/apps/app-records.js';
import { makeTestPki } from '../test/support/test-certificates.js';
import { bulkheadBin } from '../test/support/paths.js';
import { writeReport } from './support/report.js';
import { fmt, median, percentile, type Sample } from './support/stats.js';

const progress = (m: string) => process.stderr.write(`bench: ${m}\n`);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bh-api-bench-'));
const socketPath = path.join(dataDir, 'bulkhead.sock');
const pki = makeTestPki();
const port = 18443 + Math.floor(Math.random() * 1000);

// A device with some history: 20 apps, 2000 audit events.
fs.writeFileSync(path.join(dataDir, 'policy.yaml'), 'api:\n  clients:\n    - cn: ops-laptop\n      role: admin\n  rateLimit: { max: 100000000, windowSeconds: 1 }\n');
{
  const db = new Database(path.join(dataDir, 'state.db'));
  db.pragma('journal_mode = WAL');
  const records = new AppRecords(db);
  for (let i = 0; i < 20; i++) records.setDesired(`app-${i}`, i % 2 ? 'running' : 'stopped');
  for (let i = 0; i < 2000; i++) records.addAudit({ at: new Date().toISOString(), vendor: `vendor-${i % 5}`, appId: `app-${i % 20}`, component: 'main', capability: 'net.connect', attempted: `connect 10.0.0.${i % 250}:80`, reason: 'not granted' });
  db.close();
}

const daemon = spawn(process.execPath, [bulkheadBin, '--data-dir', dataDir, 'daemon', '--listen', `127.0.0.1:${port}`,
  '--tls-cert', pki.server.cert, '--tls-key', pki.server.key, '--client-ca', pki.ca], { stdio: ['ignore', 'ignore', 'inherit'] });
const deadline = Date.now() + 20_000;
while (!fs.existsSync(socketPath)) {
  if (Date.now() > deadline) throw new Error('the daemon did not start');
  await new Promise((r) => setTimeout(r, 50));
}
await new Promise((r) => setTimeout(r, 500));

interface Latency { transport: string; route: string; concurrency: number; samples: number[]; seconds: number }
const latencies: Latency[] = [];

async function measure(transport: 'unix socket' | 'mTLS', route: string, concurrency: number): Promise<void> {
  const pool = transport === 'unix socket'
    ? new Pool('http://localhost', { socketPath, connections: concurrency })
    : new Pool(`https://127.0.0.1:${port}`, { connections: concurrency, connect: { ca: fs.readFileSync(pki.ca), cert: fs.readFileSync(pki.clients.admin.cert), key: fs.readFileSync(pki.clients.admin.key) } });
  const total = concurrency === 1 ? 400 : 64 * 40;
  const one = async () => {
    const t0 = performance.now();
    const r = await pool.request({ method: 'GET', path: route });
    await r.body.arrayBuffer();
    if (r.statusCode !== 200) throw new Error(`${route}: ${r.statusCode}`);
    return performance.now() - t0;
  };
  for (let i = 0; i < Math.min(200, total); i++) await one(); // warm-up (and connection set-up)
  const samples: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < total) samples.push(await one());
  }));
  latencies.push({ transport, route, concurrency, samples, seconds: (performance.now() - t0) / 1000 });
  await pool.close();
  progress(`${transport} ${route} c=${concurrency}: p50 ${fmt(median(samples))} ms, p99 ${fmt(percentile(samples, 99))} ms`);
}

for (const transport of ['unix socket', 'mTLS'] as const) {
  for (const route of ['/v1/status', '/v1/apps', '/v1/audit?tail=100']) {
    for (const c of [1, 64]) await measure(transport, route, c);
  }
}

// CLI start-up, interleaved so machine noise hits every command alike.
const commands: Record<string, string[]> = {
  'node -e 0': ['-e', '0'],
  'bulkhead --version': [bulkheadBin, '--version'],
  'bulkhead status (through the API)': [bulkheadBin, '--data-dir', dataDir, 'status'],
  'bulkhead --help': [bulkheadBin, '--help'],
  "node -e \"require('node:http')\" (the thin client's HTTP)": ['-e', "require('node:http')"],
  "node -e \"require('undici')\" (not used by the thin client)": ['-e', "require('undici')"],
  'bulkhead status --json offline (no daemon, reads the data dir)': [bulkheadBin, '--data-dir', fs.mkdtempSync(path.join(os.tmpdir(), 'bh-api-bench-off-')), 'status', '--json'],
};
// Several rounds: the machine is shared, so one round's ratio can be off; the range of per-round
// median ratios says how much.
const cli: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
const roundRatios: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
const runs = Number(process.env.BENCH_CLI_RUNS ?? 15);
const rounds = Number(process.env.BENCH_CLI_ROUNDS ?? 3);
for (let round = 0; round < rounds; round++) {
  const mine: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (let i = 0; i < runs + 2; i++) {
    for (const [label, args] of Object.entries(commands)) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`${label} exited ${r.status}`);
      if (i >= 2) mine[label]!.push(performance.now() - t0);
    }
  }
  const base = median(mine['node -e 0']!);
  for (const [label, samples] of Object.entries(mine)) {
    cli[label]!.push(...samples);
    roundRatios[label]!.push(median(samples) / base);
  }
  progress(`CLI round ${round + 1}/${rounds}: status ${roundRatios['bulkhead status (through the API)']!.at(-1)!.toFixed(2)}x, --version ${roundRatios['bulkhead --version']!.at(-1)!.toFixed(2)}x`);
}
daemon.kill('SIGTERM');
await new Promise((r) => daemon.on('close', r));

const base = median(cli['node -e 0']!);
const range = (label: string) => `${Math.min(...roundRatios[label]!).toFixed(2)}-${Math.max(...roundRatios[label]!).toFixed(2)}x by round`;
const rows: Sample[] = Object.entries(cli).map(([label, samples]) => ({
  label, samples, unit: 'ms', note: `${(median(samples) / base).toFixed(2)}x node -e 0 (${range(label)}); p95 ${(percentile(samples, 95) / percentile(cli['node -e 0']!, 95)).toFixed(2)}x`,
}));
const table = [
  '## API latency against a daemon process (20 apps, 2000 audit events; client and daemon share the 2 cores)',
  '',
  '| transport | route | concurrency | requests | p50 ms | p99 ms | requests/s |',
  '|---|---|---:|---:|---:|---:|---:|',
  ...latencies.map((l) => `| ${l.transport} | \`${l.route}\` | ${l.concurrency} | ${l.samples.length} | ${fmt(median(l.samples))} | ${fmt(percentile(l.samples, 99))} | ${fmt(l.samples.length / l.seconds)} |`),
];
writeReport('api', 'Management API and thin client', rows, [
  `CLI rows: wall time of each command as a child process, ${rounds} rounds of ${runs} interleaved runs after 2 warm-ups each (n pools the rounds). Goals: status <= 1.5x and --version/--help <= 2x of node -e 0. \`--help\` prints a snapshot of the full CLI's help (kept equal by a unit test). The thin client loads for status: bin/bulkhead.js, api-client, thin-client-verbs, api-transport, unix-http (a hand-written HTTP/1.1 request over node:net: node:http's first request costs 35-45 ms here, this one 3-9 ms), app-status-text, data-dir, version, and node:fs/net/os/path; for --version: bin, api-client and version only.`,
  '',
  ...table,
]);
fs.rmSync(dataDir, { recursive: true, force: true });
