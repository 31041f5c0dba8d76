// The CLI's state-changing verbs through a running daemon's API: `--host unix:PATH`, the data dir's
// own socket, and `--host https://...` with client certificates. Each prints what the offline path
// prints (same text, same --json keys) and is refused with the same code; a reader certificate
// cannot write; an unreachable --host is an error, never a silent offline write. Compose goes
// through the daemon too, its secret files travelling with the request into a real Podman engine.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SAMPLE_POLICY_FILE, signedSamplePackages, type SignedSample, type VendorKey } from '../../samples/vendor-packages.js';
import { ensureBusyboxImage, BUSYBOX_IMAGE, podmanAvailable } from '../../samples/containers/busybox-image.js';
import { bulkheadBin, runCli, tempDir } from '../support/paths.js';
import { makeKey } from '../support/package-fixtures.js';
import { makeTestPki, type TestPki } from '../support/test-certificates.js';

const dataDir = tempDir('bh-cli-api-');
const socket = path.join(dataDir, 'bulkhead.sock');
let daemon: ChildProcess;
let daemonErr = '';
let port = 0;
let pki: TestPki;
let packages: SignedSample[];
let keys: VendorKey[];

const API_CLIENTS = 'api:\n  clients:\n    - cn: ops-laptop\n      role: admin\n    - uri: spiffe://plant-7/dashboard\n      role: reader\n';
const viaSocket = (...args: string[]) => runCli(['--data-dir', tempDir('bh-cli-api-none-'), '--host', `unix:${socket}`, ...args]);
const onDevice = (...args: string[]) => runCli(['--data-dir', dataDir, ...args]);
const tlsAs = (who: 'admin' | 'reader', ...args: string[]) => runCli(['--host', `https://127.0.0.1:${port}`,
  '--tls-cert', pki.clients[who].cert, '--tls-key', pki.clients[who].key, '--ca', pki.ca, ...args]);
/** A data dir with the same policy and keys, no daemon: the offline path to compare with. */
async function offlineTwin(): Promise<string> {
  const dir = tempDir('bh-cli-api-off-');
  fs.copyFileSync(path.join(dataDir, 'policy.yaml'), path.join(dir, 'policy.yaml'));
  for (const k of keys) assert.is((await runCli(['--data-dir', dir, 'trust', 'add', k.publicFile, '--vendor', k.vendor])).code, 0);
  return dir;
}
const daemonLog = () => daemonErr; // the daemon runs in the foreground: its log is its stderr
const pkg = (appId: string) => packages.find((p) => p.appId === appId)!;

test.before(async () => {
  pki = makeTestPki();
  // ACME Industrial may also run the busybox test image the operator put on the device.
  const policy = fs.readFileSync(SAMPLE_POLICY_FILE, 'utf8').replace(/^ {2}ACME Industrial:\n/m, `$&    images: ["${BUSYBOX_IMAGE}"]\n`);
  assert.match(policy, /images:/);
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), policy + API_CLIENTS);
  ({ packages, keys } = await signedSamplePackages(tempDir('bh-cli-api-pkgs-'), ['acme-sensor-filter', 'globex-dashboard']));
  daemon = spawn(process.execPath, [bulkheadBin, '--data-dir', dataDir, 'daemon', '--listen', '127.0.0.1:0',
    '--tls-cert', pki.server.cert, '--tls-key', pki.server.key, '--client-ca', pki.ca],
  { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DOCKER_HOST: process.env.DOCKER_HOST ?? 'unix:///run/podman/podman.sock' } });
  daemon.stderr!.on('data', (d) => { daemonErr += d; });
  const deadline = Date.now() + 20_000;
  while (!(port = Number(/listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(daemonErr)?.[1] ?? 0))) {
    if (Date.now() > deadline) throw new Error(`the daemon did not start: ${daemonErr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

test.after(async () => {
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.on('close', r));
});

test('trust add/list/revoke through --host unix:PATH: the daemon\'s store changes, the other data dir is never created', async () => {
  const elsewhere = tempDir('bh-cli-api-else-');
  for (const k of keys) {
    const r = await runCli(['--data-dir', elsewhere, '--host', `unix:${socket}`, 'trust', 'add', k.publicFile, '--vendor', k.vendor]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^trusted key [0-9A-F]{16} for ${k.vendor} \\(vendor\\)\\n$`));
  }
  assert.not.ok(fs.existsSync(path.join(elsewhere, 'state.db')), 'no offline write beside the daemon');
  const listed = JSON.parse((await viaSocket('trust', 'list', '--json')).stdout) as { vendor: string }[];
  assert.equal(listed.map((k) => k.vendor).sort(), keys.map((k) => k.vendor).sort());

  // The same refusals, word for word, as the offline path.
  const twin = await offlineTwin();
  const spare = await makeKey();
  for (const args of [['trust', 'add', spare.publicFile, '--vendor', 'ACME INDUSTRIAL'], ['trust', 'revoke', 'FFFFFFFFFFFFFFFF'], ['trust', 'remove', 'nonsense']]) {
    const remote = await onDevice(...args);
    const offline = await runCli(['--data-dir', twin, ...args]);
    assert.is(remote.code, offline.code, `${args.join(' ')}: ${remote.stderr}`);
    assert.is(remote.stderr, offline.stderr);
    assert.match(remote.stderr, /^bulkhead: BH_ERR_TRUST_INPUT: /);
  }
  assert.match(daemonLog(), /api: local \(local, admin\) POST \/v1\/trust\/keys -> 422/);
  const offlineList = JSON.parse((await runCli(['--data-dir', twin, 'trust', 'list', '--json'])).stdout) as Record<string, unknown>[];
  assert.equal(Object.keys(listed[0]!).sort(), Object.keys(offlineList[0]!).sort(), 'one --json shape');
});

test('install, start --wait, stop and uninstall go through the data dir\'s socket when the daemon answers on it', async () => {
  const sensor = pkg('acme-sensor-filter');
  const installed = await onDevice('install', sensor.file, '--json');
  assert.is(installed.code, 0, installed.stderr);
  assert.match(daemonLog(), /api: local \(local, admin\) POST \/v1\/packages -> 201/);
  const twin = await offlineTwin();
  const offline = await runCli(['--data-dir', twin, 'install', sensor.file, '--json']);
  assert.is(offline.code, 0, offline.stderr);
  const [a, b] = [JSON.parse(installed.stdout), JSON.parse(offline.stdout)];
  assert.equal(Object.keys(a).sort(), Object.keys(b).sort(), 'one --json shape');
  assert.equal({ ...a, path: '', installedAt: '' }, { ...b, path: '', installedAt: '' });
  // A replay is refused with the installer's code and words, the package named as the user gave it.
  const again = await onDevice('install', sensor.file);
  const againOffline = await runCli(['--data-dir', twin, 'install', sensor.file]);
  assert.is(again.code, 1);
  assert.is(again.stderr, againOffline.stderr);
  assert.match(again.stderr, /^bulkhead: BH_ERR_ROLLBACK: acme-sensor-filter 1\.0\.0 is not newer/);

  const started = await onDevice('start', 'acme-sensor-filter', '--wait', '--json');
  assert.is(started.code, 0, started.stderr);
  assert.is(JSON.parse(started.stdout).apps[0].actual, 'completed');
  assert.match(daemonLog(), /POST \/v1\/apps\/acme-sensor-filter\/start -> 202/);
  const missing = await onDevice('start', 'acme-sensor-filter', 'ghost');
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /^bulkhead: ghost is not installed \(installed: acme-sensor-filter\); install it with: bulkhead install PACKAGE\n$/);

  const refused = await onDevice('uninstall', 'acme-sensor-filter');
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /^bulkhead: acme-sensor-filter cannot be uninstalled while it is started/);
  const stopped = await onDevice('stop', 'acme-sensor-filter');
  assert.is(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stdout, /^acme-sensor-filter: completed\n$/); // a finished job stays completed
  assert.is((await onDevice('stop', 'never-ran')).stderr, 'bulkhead: never-ran was never started on this device\n');
  const gone = await onDevice('uninstall', 'acme-sensor-filter', '--json');
  assert.is(gone.code, 0, gone.stderr);
  assert.is(JSON.parse(gone.stdout).id, 'acme-sensor-filter');
  assert.match(daemonLog(), /DELETE \/v1\/packages\/acme-sensor-filter -> 200/);
});

test('over mTLS: an admin installs and reads the policy; a reader is refused every write and changes nothing', async () => {
  const dashboard = pkg('globex-dashboard');
  const r = await tlsAs('admin', 'install', dashboard.file);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^installed globex-dashboard 1\.0\.0 from Globex Analytics\n$/);
  assert.match(daemonLog(), /api: ops-laptop \(tls, admin\) POST \/v1\/packages -> 201/);
  const policy = JSON.parse((await tlsAs('reader', 'policy', 'show', '--json')).stdout);
  assert.ok(policy.vendors['ACME Industrial']);

  const before = fs.readFileSync(path.join(dataDir, 'policy.yaml'), 'utf8');
  const policyFile = path.join(tempDir(), 'policy.yaml');
  fs.writeFileSync(policyFile, before);
  const spare = await makeKey();
  for (const args of [['trust', 'add', spare.publicFile, '--vendor', 'Reader Co'], ['install', dashboard.file, '--allow-downgrade'],
    ['start', 'globex-dashboard'], ['uninstall', 'globex-dashboard'], ['policy', 'set', policyFile]]) {
    const w = await tlsAs('reader', ...args);
    assert.is(w.code, 1, `${args.join(' ')}: ${w.stdout}`);
    assert.match(w.stderr, /^bulkhead: spiffe:\/\/plant-7\/dashboard has the role reader, which may only read/);
  }
  assert.is(fs.readFileSync(path.join(dataDir, 'policy.yaml'), 'utf8'), before);
  assert.is(JSON.parse((await viaSocket('trust', 'list', '--json')).stdout).length, keys.length);

  const bad = path.join(tempDir(), 'bad.yaml');
  fs.writeFileSync(bad, 'signatures:\n  minimumSignatures: 0\n');
  const invalid = await tlsAs('admin', 'policy', 'set', bad);
  assert.is(invalid.code, 125);
  assert.match(invalid.stderr, /minimumSignatures/);
  fs.writeFileSync(policyFile, `${before}archive:\n  maxPackedBytes: 50000000\n`);
  const set = await tlsAs('admin', 'policy', 'set', policyFile);
  assert.is(set.code, 0, set.stderr);
  assert.match(fs.readFileSync(path.join(dataDir, 'policy.yaml'), 'utf8'), /maxPackedBytes: 50000000/);
});

test('compose through the daemon: a violation is refused exactly as offline, before any engine work', async () => {
  const dir = path.join(tempDir(), 'plant');
  fs.mkdirSync(dir);
  const file = path.join(dir, 'compose.yaml');
  fs.writeFileSync(file, 'services:\n  web:\n    image: busybox\n    privileged: true\n    network_mode: host\n');
  const twin = await offlineTwin();
  for (const verb of ['check', 'up']) {
    const remote = await onDevice('compose', verb, '-f', file, '--vendor', 'ACME Industrial');
    const offline = await runCli(['--data-dir', twin, 'compose', verb, '-f', file, '--vendor', 'ACME Industrial']);
    assert.is(remote.code, 1);
    assert.is(remote.code, offline.code);
    assert.is(remote.stdout, offline.stdout);
    assert.is(remote.stderr, offline.stderr);
  }
  assert.match(daemonLog(), /POST \/v1\/compose\/up -> 422/);
  const both = await onDevice('--host', `unix:${socket}`, 'compose', 'ps', '-f', file, '--vendor', 'ACME Industrial', '--host', 'unix:///run/podman/podman.sock');
  assert.is(both.code, 125);
  assert.match(both.stderr, /names an engine on this machine/);
});

test('compose up, ps, logs and down through the daemon with a secret file that travels with the request', async () => {
  const problem = podmanAvailable();
  if (problem) throw new Error(`this test needs a real Podman engine (.ci/run installs and starts it): ${problem}`);
  ensureBusyboxImage();
  const dir = path.join(tempDir(), 'remote-secret');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'token.txt'), 'via-the-api\n');
  const file = path.join(dir, 'compose.yaml');
  fs.writeFileSync(file, `services:
  app:
    image: ${BUSYBOX_IMAGE}
    command: ["sh", "-c", "cat /run/secrets/token; exec sleep 3600"]
    secrets: [token]
secrets:
  token:
    file: ./token.txt
`);
  const compose = (...args: string[]) => viaSocket('compose', ...args, '-f', file, '--vendor', 'ACME Industrial');
  try {
    const up = await compose('up', '--json');
    assert.is(up.code, 0, up.stderr);
    assert.equal(JSON.parse(up.stdout).actions, [{ service: 'app', action: 'created' }]);
    await new Promise((r) => setTimeout(r, 700));
    const ps = await compose('ps');
    assert.match(ps.stdout, /^NAME +IMAGE +SERVICE +STATUS +PORTS\n\S+ +\S+ +app +running/, ps.stdout + ps.stderr);
    assert.match((await compose('logs')).stdout, /^app \| via-the-api$/m);
    assert.equal(fs.readdirSync(path.join(dataDir, 'compose-sources')), [], 'the request\'s copy of the secret is gone');
  } finally {
    const down = await compose('down');
    assert.is(down.code, 0, down.stderr);
    assert.match(down.stdout, /^app: removed$/m, down.stdout);
  }
});

test('an unreachable --host is an error, never an offline write; without --host a dead daemon\'s socket means offline', async () => {
  const elsewhere = tempDir('bh-cli-api-unreach-');
  const spare = await makeKey();
  const r = await runCli(['--data-dir', elsewhere, '--host', `unix:${path.join(elsewhere, 'nobody.sock')}`, 'trust', 'add', spare.publicFile, '--vendor', 'Nobody']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^bulkhead: cannot reach the daemon at unix:.*nobody\.sock \(ENOENT\)/);
  assert.not.ok(fs.existsSync(path.join(elsewhere, 'state.db')));
  const badUrl = await runCli(['--host', 'http://127.0.0.1:1', 'trust', 'list']);
  assert.is(badUrl.code, 125);
  assert.match(badUrl.stderr, /no plaintext TCP mode/);
  // A socket file nobody listens on (a killed daemon's): the verbs work on the data dir.
  fs.writeFileSync(path.join(elsewhere, 'bulkhead.sock'), '');
  const offline = await runCli(['--data-dir', elsewhere, 'trust', 'add', spare.publicFile, '--vendor', 'Nobody']);
  assert.is(offline.code, 0, offline.stderr);
  assert.ok(fs.existsSync(path.join(elsewhere, 'state.db')));
});

test.run();
