// The API inside the real daemon: packages uploaded and apps started over the socket are run by the
// reconcile loop; `bulkhead status` and `bulkhead logs -f` go through the API; a daemon killed with
// SIGKILL in the middle of an upload restarts clean with nothing partial and nothing lost.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SAMPLE_POLICY_FILE, signedSamplePackages, type SignedSample } from '../../samples/vendor-packages.js';
import { daemonPid, spawnDaemon } from '../../runtime/apps/device-daemon.js';
import { call, socketClient } from '../support/api-client.js';
import { bulkheadBin, runCli, tempDir } from '../support/paths.js';

const dataDir = tempDir('bh-api-d-');
const socketPath = path.join(dataDir, 'bulkhead.sock');
let packages: SignedSample[];

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve().then(fn).catch(() => undefined);
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const api = async (method: string, p: string, body?: unknown, headers?: Record<string, string>) => {
  const c = socketClient(socketPath);
  try { return await call(c, method, p, body, headers); } finally { await c.close(); }
};
const served = () => until('the API socket', async () => (await api('GET', '/readyz')).status === 200);
const pkg = (appId: string) => packages.find((p) => p.appId === appId)!;
const upload = (p: SignedSample) => api('POST', '/v1/packages', fs.readFileSync(p.file), {
  'content-type': 'application/octet-stream', 'bulkhead-signature': fs.readFileSync(`${p.file}.minisig`).toString('base64'),
});

test.before(async () => {
  fs.copyFileSync(SAMPLE_POLICY_FILE, path.join(dataDir, 'policy.yaml'));
  const signed = await signedSamplePackages(tempDir('bh-api-d-pkgs-'), ['acme-sensor-filter', 'globex-dashboard', 'rogue-probe']);
  packages = signed.packages;
  for (const k of signed.keys) assert.is((await runCli(['--data-dir', dataDir, 'trust', 'add', k.publicFile, '--vendor', k.vendor])).code, 0);
  await spawnDaemon(dataDir);
  await served();
});

test.after(async () => {
  await runCli(['--data-dir', dataDir, 'daemon', '--stop']);
});

test('a package uploaded and an app started over the API are run by the daemon', async () => {
  assert.is((await upload(pkg('acme-sensor-filter'))).status, 201);
  assert.is((await upload(pkg('globex-dashboard'))).status, 201);
  assert.is((await api('POST', '/v1/apps/globex-dashboard/start', {})).status, 202);
  await until('dashboard running', async () => (await api('GET', '/v1/apps/globex-dashboard')).json.app.actual === 'running');
  assert.is((await api('POST', '/v1/apps/acme-sensor-filter/start', {})).status, 202);
  await until('sensor completed', async () => (await api('GET', '/v1/apps/acme-sensor-filter')).json.app.actual === 'completed');
});

test('/metrics counts each vendor\'s calls into each host interface while its apps run', async () => {
  await until('the dashboard\'s host calls sampled', async () => {
    const text = (await api('GET', '/metrics')).text;
    return series(text, 'bulkhead_host_calls_total', { vendor: 'Globex Analytics' }) > 0 && text;
  }, 15_000);
  const text = (await api('GET', '/metrics')).text;
  const interfaces = [...text.matchAll(/^bulkhead_host_calls_total\{([^}]*)\} \S+$/gm)].map((m) => /interface="([^"]+)"/.exec(m[1]!)![1]!);
  assert.ok(interfaces.every((i) => /^(wasi|bulkhead):[a-z-]+\/[a-z-]+$/.test(i)), interfaces.join());
  const first = series(text, 'bulkhead_host_calls_total', { vendor: 'Globex Analytics' });
  await new Promise((r) => setTimeout(r, 2500));
  assert.ok(series((await api('GET', '/metrics')).text, 'bulkhead_host_calls_total', { vendor: 'Globex Analytics' }) >= first, 'a counter never goes back');
});

test('bulkhead status goes through the API (--host, and by default when the daemon runs)', async () => {
  const elsewhere = tempDir('bh-api-d-empty-');
  const viaHost = await runCli(['--data-dir', elsewhere, '--host', `unix:${socketPath}`, 'status', '--json']);
  assert.is(viaHost.code, 0, viaHost.stderr);
  const s = JSON.parse(viaHost.stdout);
  assert.is(s.daemon, daemonPid(dataDir));
  assert.ok(s.apps.some((a: { appId: string; actual: string }) => a.appId === 'globex-dashboard' && a.actual === 'running'));
  assert.ok(!fs.existsSync(path.join(elsewhere, 'state.db')), 'the client never opened a data dir');
  const local = await runCli(['--data-dir', dataDir, 'status']);
  assert.match(local.stdout, /^daemon: running \(pid \d+\)\nacme-sensor-filter: completed {3}desired: running\nglobex-dashboard: running {3}desired: running/);
  const viaEnv = await runCli(['--data-dir', elsewhere, 'status', 'globex-dashboard'], { env: { BULKHEAD_HOST: `unix:${socketPath}` } });
  assert.match(viaEnv.stdout, /^globex-dashboard: running {3}desired: running\n {2}dashboard \[Globex Analytics\]: running/);
  const missing = await runCli(['--data-dir', dataDir, 'status', 'nope']);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /^bulkhead: nope was never started on this device/);
});

test('bulkhead logs -f follows new records through the API until interrupted', async () => {
  const child = spawn(process.execPath, [bulkheadBin, '--data-dir', dataDir, 'logs', 'acme-sensor-filter', '-f', '-n', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err2 = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err2 += d; });
  try {
    await new Promise((r) => setTimeout(r, 1500)); // the client has connected and is following
    assert.is(out, '', 'tail 0 printed nothing old');
    assert.is((await api('POST', '/v1/apps/acme-sensor-filter/start', {})).status, 202);
    await until('a new log line', () => /INFO  filter: filtered sensor readings published=10/.test(out)).catch((err) => {
      throw new Error(`${err.message}; the client printed: ${out.slice(0, 500)} ${err2}`);
    });
  } finally {
    child.kill('SIGINT');
  }
  const code = await new Promise((r) => child.on('close', r));
  assert.is(code, 0);
});

test('kill -9 during an upload: the daemon restarts clean, no partial package, nothing installed before is lost', async () => {
  const before = (await api('GET', '/v1/packages')).json.packages;
  const probe = pkg('rogue-probe');
  const bytes = fs.readFileSync(probe.file);
  const pid = daemonPid(dataDir)!;
  await new Promise<void>((resolve, reject) => {
    const s = net.connect(socketPath, () => {
      s.write(`POST /v1/packages HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nBulkhead-Signature: ${fs.readFileSync(`${probe.file}.minisig`).toString('base64')}\r\nContent-Length: ${bytes.length}\r\n\r\n`);
      s.write(bytes.subarray(0, bytes.length >> 1), () => setTimeout(() => {
        assert.ok(fs.readdirSync(path.join(dataDir, 'spool')).length >= 1, 'the upload was being spooled');
        process.kill(pid, 'SIGKILL');
        s.destroy();
        resolve();
      }, 300));
    });
    s.on('error', reject);
  });
  await until('the daemon gone', () => daemonPid(dataDir) === undefined);
  // A client meanwhile falls back to reading the data dir (the socket is stale).
  const offline = await runCli(['--data-dir', dataDir, 'status', '--json']);
  assert.is(JSON.parse(offline.stdout).daemon, null);
  await spawnDaemon(dataDir);
  await served();
  assert.equal((await api('GET', '/v1/packages')).json.packages, before);
  assert.equal(fs.readdirSync(path.join(dataDir, 'spool')), []);
  assert.equal(fs.readdirSync(path.join(dataDir, 'staging')), []);
  const again = await upload(probe);
  assert.is(again.status, 201, again.text);
  await until('dashboard running again', async () => (await api('GET', '/v1/apps/globex-dashboard')).json.app.actual === 'running');
});


const series = (text: string, name: string, labels: Record<string, string>) => {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return [...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))]
    .filter((m) => want.every((w) => m[1]!.split(',').includes(w))).reduce((n, m) => n + Number(m[2]), 0);
};

test('bulkhead audit goes through the API with the CLI\'s filters; the probe\'s real denials move the denial counter', async () => {
  const deniedBefore = series((await api('GET', '/metrics')).text, 'bulkhead_hostapi_denials_total', { vendor: 'Rogue Labs' });
  assert.is((await api('POST', '/v1/apps/rogue-probe/start', {})).status, 202);
  await until('probe finished', async () => ['completed', 'failed'].includes((await api('GET', '/v1/apps/rogue-probe')).json.app.actual), 60_000);
  const audited = (await api('GET', '/v1/audit?vendor=Rogue%20Labs')).json.events.length as number;
  const deniedAfter = series((await api('GET', '/metrics')).text, 'bulkhead_hostapi_denials_total', { vendor: 'Rogue Labs' });
  assert.ok(deniedAfter > deniedBefore, `denials ${deniedBefore} -> ${deniedAfter}`);
  assert.ok(deniedAfter - deniedBefore <= audited, 'one count per audited denial');
  const elsewhere = tempDir('bh-api-d-empty-');
  const r = await runCli(['--data-dir', elsewhere, '--host', `unix:${socketPath}`, 'audit', '--app', 'rogue-probe', '--json']);
  assert.is(r.code, 0, r.stderr);
  const events = JSON.parse(r.stdout).events as { appId: string; vendor: string }[];
  assert.ok(events.length > 0, 'the probe was refused things');
  assert.ok(events.every((e) => e.appId === 'rogue-probe' && e.vendor === 'Rogue Labs'));
  assert.equal(events, (await api('GET', '/v1/audit?app=rogue-probe')).json.events);
  const text = await runCli(['--data-dir', dataDir, 'audit', '--vendor', 'Rogue Labs', '-n', '2']);
  assert.is(text.stdout.trim().split('\n').length, 2);
  assert.match(text.stdout, /^\S+ Rogue Labs rogue-probe\/\S+ \S+: .* -- /);
  const none = await runCli(['--data-dir', dataDir, 'audit', '--vendor', 'Nobody']);
  assert.is(none.stdout, 'no audit events\n');
});

test.run();
