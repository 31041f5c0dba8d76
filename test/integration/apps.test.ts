// Signed packages of several vendors, installed and run side by side through the real CLI and
// daemon: what each produces, and every way the hostile vendor tries to leave its grant being
// refused, audited and contained, with the well-behaved vendors unaffected.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SAMPLE_POLICY_FILE, signedSamplePackages } from '../../samples/vendor-packages.js';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { vendorDirName } from '../../runtime/state/vendor-names.js';
import { runCli, tempDir } from '../support/paths.js';

const dataDir = tempDir('bulkhead-apps-');
const root = (vendor: string) => path.join(dataDir, 'vendors', vendorDirName(vendorId(vendor)));
const cli = (...args: string[]) => runCli(['--data-dir', dataDir, ...args]);
const json = async (...args: string[]) => {
  const r = await cli(...args, '--json');
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
};
const logs = async (app: string): Promise<{ message: string; fields: Record<string, string>; level: string }[]> => {
  const r = await cli('logs', app, '--json');
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
};
const kvValue = (namespace: string, key: string): string | undefined => {
  const db = new Database(path.join(dataDir, 'state.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT value FROM kv_entries WHERE namespace = ? AND key = ?').get(namespace, key) as { value: Buffer } | undefined;
    return row?.value.toString();
  } finally {
    db.close();
  }
};
async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test.before(async () => {
  fs.copyFileSync(SAMPLE_POLICY_FILE, path.join(dataDir, 'policy.yaml'));
  const { packages, keys } = await signedSamplePackages(tempDir('bulkhead-vendors-'));
  for (const k of keys) assert.is((await cli('trust', 'add', k.publicFile, '--vendor', k.vendor)).code, 0);
  for (const p of packages) {
    const r = await cli('install', p.file);
    assert.is(r.code, 0, r.stderr);
  }
  // Another vendor's file the hostile one will try to reach, and a symlink planted in its own root.
  fs.mkdirSync(root('Globex Analytics'), { recursive: true });
  fs.writeFileSync(path.join(root('Globex Analytics'), 'secret.txt'), 'globex secret\n');
  fs.mkdirSync(path.join(root('Rogue Labs'), 'probe'), { recursive: true });
  fs.symlinkSync(`../../${vendorDirName(vendorId('Globex Analytics'))}`, path.join(root('Rogue Labs'), 'probe', 'planted'));
});

test.after(async () => {
  await cli('daemon', '--stop');
});

test('install transpiled every component once, into the content-addressed cache', () => {
  const cached = fs.readdirSync(path.join(dataDir, 'components'));
  assert.is(cached.length, 5);
  for (const dir of cached) assert.ok(fs.existsSync(path.join(dataDir, 'components', dir, 'component.mjs')), dir);
});

test('two vendors side by side: the sensor publishes, the dashboard (another vendor) keeps statistics in kv', async () => {
  const started = await json('start', 'globex-dashboard');
  assert.equal(started.apps.map((a: { actual: string }) => a.actual), ['running']);
  const instances = (await json('status', 'globex-dashboard')).instances as { role: string }[];
  assert.equal(instances.map((i) => i.role), ['service']);
  const sensor = await json('start', 'acme-sensor-filter', '--wait');
  assert.equal(sensor.apps[0].actual, 'completed');
  await until('10 readings in kv', () => kvValue('Globex Analytics/globex-dashboard', 'count') === '10.00');
  assert.is(kvValue('Globex Analytics/globex-dashboard', 'max'), '22.75', 'the spikes were filtered out by the sensor');
  const sensorLog = await logs('acme-sensor-filter');
  assert.ok(sensorLog.some((l) => l.message === 'filtered sensor readings' && l.fields.published === '10' && l.fields.dropped === '2'));
  assert.ok(sensorLog.some((l) => l.message === 'sensor-filter: published 10 readings, dropped 2 spikes' && l.fields.stream === 'stdout'));
  const raw = fs.readFileSync(path.join(root('ACME Industrial'), 'sensor-filter', 'raw.log'), 'utf8');
  assert.is(raw.trim().split('\n').length, 12, 'the sensor wrote into its own granted directory');
  const status = await json('status', 'globex-dashboard');
  assert.is(status.app.actual, 'running');
  assert.equal(status.instances.map((i: { component: string; vendor: string; state: string }) => [i.component, i.vendor, i.state]), [['dashboard', 'Globex Analytics', 'running']]);
});

test('hostile: every escape the probe tries is refused and audited, and it cannot disturb the dashboard', async () => {
  const r = await json('start', 'rogue-probe', '--wait');
  assert.is(r.apps[0].actual, 'completed', 'the probe exits 0 only when nothing escaped');
  const lines = (await logs('rogue-probe')).map((l) => l.message);
  for (const probe of ['dotdot', 'absolute', 'planted-symlink', 'absolute-symlink', 'relative-symlink', 'publish-forged', 'subscribe-all']) {
    assert.ok(lines.some((l) => l.startsWith(`probe ${probe}: refused`)), `${probe}: ${lines.find((l) => l.startsWith(`probe ${probe}`))}`);
  }
  assert.ok(lines.some((l) => /^probe kv-quota: refused after 7 KiB \(namespace would hold \d+ bytes, over its quota of 8192\)/.test(l)));
  assert.ok(lines.includes('rogue-probe: 0 escaped'));
  assert.not.ok(lines.some((l) => l.includes('ESCAPED')));

  const audit = (await json('audit', '--app', 'rogue-probe')).events as { capability: string; attempted: string }[];
  const seen = audit.map((e) => `${e.capability} ${e.attempted}`);
  for (const expected of ['messaging.publish requested plant/line1/temperature', 'messaging.subscribe requested #',
    'messaging.publish plant/line1/temperature', 'messaging.subscribe #']) assert.ok(seen.includes(expected), `${expected} in ${seen.join('; ')}`);
  assert.ok(audit.some((e) => e.capability === 'kv.quota'));
  const fsDenials = audit.filter((e) => e.capability === 'fs').map((e) => e.attempted);
  for (const attempt of ['../../globex-analytics/secret.txt', 'planted/secret.txt', 'symlink root-link -> /', 'up-link/secret.txt']) {
    assert.ok(fsDenials.some((a) => a.includes(attempt)), `fs denial for ${attempt} in ${fsDenials.join('; ')}`);
  }
  assert.is(audit.filter((e) => e.capability === 'log.rate').length, 1, 'the flood is audited once, not per record');

  // The flood of 20000 records cost a bounded number of rows, and said what it dropped.
  const all = await logs('rogue-probe');
  assert.ok(all.length < 400, `${all.length} log rows kept`);
  const dropped = all.filter((l) => l.message.startsWith('log rate limit')).reduce((n, l) => n + Number(l.fields.dropped), 0);
  assert.ok(dropped > 19_000, `${dropped} dropped`);

  // The forged reading never reached the dashboard; its kv namespace is untouched by the probe.
  assert.is(kvValue('Globex Analytics/globex-dashboard', 'count'), '10.00');
  assert.is(kvValue('Globex Analytics/globex-dashboard', 'fill-0'), undefined);
  assert.ok(!fs.existsSync(path.join(root('Rogue Labs'), 'probe', 'root-link')), 'no absolute symlink was created');
});

test('hostile: a vendor that spins is stopped and marked failed; the other vendors keep running', async () => {
  const r = await cli('start', 'rogue-spin', '--wait');
  assert.is(r.code, 1);
  assert.match(r.stdout, /rogue-spin: failed \(CPU limit: guests used \d+ ms of CPU in \d+ ms \(limit 50% of a core\)\)/);
  const audit = (await json('audit', '--vendor', 'Rogue Labs')).events as { capability: string; appId: string }[];
  assert.ok(audit.some((e) => e.capability === 'cpu' && e.appId === 'rogue-spin'));
  const sandboxes = (await json('status')).sandboxes as { vendor: string; state: string; reason: string | null }[];
  const rogue = sandboxes.find((s) => s.vendor === 'Rogue Labs');
  assert.is(rogue?.state, 'stopped');
  assert.match(rogue?.reason ?? '', /^CPU limit/);
  assert.is((await json('status', 'globex-dashboard')).app.actual, 'running');
  // The dashboard still takes messages: run the sensor again.
  assert.is((await json('start', 'acme-sensor-filter', '--wait')).apps[0].actual, 'completed');
  await until('20 readings in kv', () => kvValue('Globex Analytics/globex-dashboard', 'count') === '20.00');
});

test('hostile: unbounded allocation stops at the instance memory cap', async () => {
  const r = await cli('start', 'rogue-hog', '--wait');
  assert.is(r.code, 1);
  const lines = (await logs('rogue-hog')).map((l) => l.message);
  assert.ok(lines.some((l) => /^allocation refused after 1[0-5] MiB$/.test(l)), lines.join('\n'));
  const audit = (await json('audit', '--app', 'rogue-hog')).events as { capability: string; reason: string }[];
  assert.ok(audit.some((e) => e.capability === 'memory' && e.reason === 'reached the instance memory cap of 16 MiB'), JSON.stringify(audit));
  assert.is((await json('status', 'globex-dashboard')).app.actual, 'running');
});

test('stop, status and a daemon restart: kv state survives, running apps come back', async () => {
  const stopped = await json('stop', 'globex-dashboard');
  assert.is(stopped.apps[0].actual, 'stopped');
  assert.is((await json('start', 'globex-dashboard')).apps[0].actual, 'running');
  // A crash: the daemon is killed outright. The next start finds the app and its kv as they were.
  const pid = (await json('status')).daemon as number;
  process.kill(pid, 'SIGKILL');
  await until('daemon gone', async () => (await json('status')).daemon === null);
  assert.is((await json('start', 'globex-dashboard')).apps[0].actual, 'running');
  assert.is((await json('start', 'acme-sensor-filter', '--wait')).apps[0].actual, 'completed');
  await until('30 readings in kv', () => kvValue('Globex Analytics/globex-dashboard', 'count') === '30.00');
  assert.is((await cli('daemon', '--stop')).code, 0);
  const after = await json('status');
  assert.is(after.daemon, null);
  assert.is(after.apps.find((a: { appId: string }) => a.appId === 'globex-dashboard').actual, 'stopped');
});

test('bad input: unknown apps and parameters get a clear error, not a trace', async () => {
  const r = await cli('start', 'no-such-app');
  assert.is(r.code, 1);
  assert.match(r.stderr, /no-such-app is not installed \(installed: acme-sensor-filter, globex-dashboard/);
  const t = await cli('audit', '--tail', 'many');
  assert.is(t.code, 125);
  assert.match(t.stderr, /--tail many: expected a whole number of at least 0/);
  const p = await cli('start', 'acme-sensor-filter', '--param', 'nonsense');
  assert.is(p.code, 125);
  assert.match(p.stderr, /--param "nonsense": expected NAME=VALUE/);
  const unknown = await cli('start', 'acme-sensor-filter', '--param', 'colour=red');
  assert.is(unknown.code, 1);
  assert.match(unknown.stdout, /has no parameter "colour" \(it has: samples, threshold\)/);
  assert.not.match(r.stderr + p.stderr + unknown.stderr + t.stderr, /\n\s+at /);
});

test('parameters reach the component through bulkhead:host/config', async () => {
  const r = await json('start', 'acme-sensor-filter', '--wait', '--param', 'samples=5');
  assert.is(r.apps[0].actual, 'completed');
  const lines = (await logs('acme-sensor-filter')).map((l) => l.message);
  assert.is(lines.at(-1), 'sensor-filter: published 4 readings, dropped 1 spikes');
});

test.run();
