// The whole Margo WFM client end to end: a real daemon joined (`bulkhead fleet join`) to our test
// WFM over mTLS, deployments served by the WFM, signed packages pulled from a real registry, wasm
// apps run by the daemon and compose apps by real Podman, status reports received by the WFM.
// Then a parameter update and a removal through the WFM, and a daemon killed with SIGKILL in the
// middle of a deployment that converges after its restart from the adopted state.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import Database from 'better-sqlite3';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { spawnDaemon, daemonPid } from '../../runtime/apps/device-daemon.js';
import { containerName } from '../../runtime/bridge/container-spec.js';
import { componentIdentity } from '../../runtime/fleet/compose-deployment.js';
import { vendorNetworkName } from '../../runtime/state/vendor-names.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage, podmanAvailable } from '../../samples/containers/busybox-image.js';
import { deploymentDocument, type DeploymentSpec } from '../support/application-deployments.js';
import { composePackage, publish, sensorFilterPackage, trustedVendor } from '../support/fleet-device.js';
import { runCli, tempDir } from '../support/paths.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { makeSpiffePki, WFM_SPIFFE_ID } from '../support/spiffe-pki.js';
import { TestWfm } from '../support/test-wfm.js';

const ACME = 'ACME Industrial';
const GLOBEX = 'Globex Analytics';
const DEVICE = 'dev-1';
const pki = makeSpiffePki();
const dataDir = tempDir('bulkhead-fleet-e2e-');
let registry: TestRegistry;
let wfm: TestWfm;
let wasmRepo = '';
let composeRepo = '';

const cli = (...args: string[]) => runCli(['--data-dir', dataDir, ...args]);
const yaml = (s: DeploymentSpec) => ({ id: s.id, yaml: YAML.stringify(deploymentDocument({ ...s, deviceId: DEVICE })) });
const samples = (n: number) => ({ samples: { value: String(n), targets: [{ pointer: 'samples', components: ['filter'] }] } });
const wasm = (n: number): DeploymentSpec => ({ id: 'e2e-wasm', applicationId: 'e2e-filter', repository: wasmRepo, components: ['filter'], type: 'custom', parameters: samples(n) });
const compose = (greeting: string): DeploymentSpec => ({
  id: 'e2e-compose', applicationId: 'e2e-greeter', repository: composeRepo, components: ['web'], type: 'compose',
  parameters: { greeting: { value: greeting, targets: [{ pointer: 'GREETING', components: ['web'] }] } },
});
const reportsFor = (id: string) => wfm.statusReports().filter((r) => r.deploymentId === id);
const lastState = (id: string) => reportsFor(id).pop()?.status.state;
const web = () => containerName(componentIdentity(vendorId(GLOBEX), 'e2e-greeter', 'web').deployment, 'web');
const env = (): string[] => {
  try {
    return JSON.parse(execFileSync('podman', ['inspect', web(), '--format', '{{json .Config.Env}}'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return [];
  }
};
function published(): string[] {
  const db = new Database(path.join(dataDir, 'state.db'), { readonly: true });
  try {
    return (db.prepare("SELECT fields FROM app_logs WHERE app_id = 'e2e-filter' AND message = 'filtered sensor readings' ORDER BY id").all() as { fields: string }[])
      .map((r) => JSON.parse(r.fields).published as string);
  } finally {
    db.close();
  }
}
async function until<T>(what: string, fn: () => T | undefined | false, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; reports: ${JSON.stringify(wfm.statusReports().slice(-6))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

test.before(async () => {
  const problem = podmanAvailable();
  if (problem) throw new Error(`these tests need a real Podman engine (.ci/run installs and starts it): ${problem}`);
  ensureBusyboxImage();
  registry = await startRegistry();
  wfm = await TestWfm.start({ server: pki.wfm, clientCa: pki.ca, wfmSpiffeId: WFM_SPIFFE_ID });
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:\n  ${ACME}:\n    wasm: { fsWritable: true, publish: ["plant/line1/#"], memory: 32Mi }\n  ${GLOBEX}:\n    limits: { memory: 32Mi, cpus: 0.5, pids: 32 }\n    images: ["${BUSYBOX_IMAGE}"]\n`);
  const acme = await trustedVendor(dataDir, ACME);
  const globex = await trustedVendor(dataDir, GLOBEX);
  wasmRepo = await publish(registry.address, sensorFilterPackage('e2e-filter', '1.0.0', ACME), acme, { id: 'e2e-filter', version: '1.0.0', vendor: ACME });
  composeRepo = await publish(registry.address, composePackage('e2e-greeter', '1.0.0', GLOBEX, BUSYBOX_IMAGE), globex, { id: 'e2e-greeter', version: '1.0.0', vendor: GLOBEX });
  wfm.setDeployments([]);
  const join = await cli('fleet', 'join', '--wfm', wfm.url, '--device-id', DEVICE, '--cert', pki.device.cert, '--key', pki.device.key,
    '--trust-bundle', pki.ca, '--poll-interval', '1', '--label', 'site=plant-7');
  assert.is(join.code, 0, join.stderr);
  await spawnDaemon(dataDir);
});

test.after(async () => {
  await cli('daemon', '--stop');
  for (const v of [ACME, GLOBEX]) {
    const ids = execFileSync('podman', ['ps', '-aq', '--filter', `label=org.bulkhead.vendor=${v}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    if (ids.length) execFileSync('podman', ['rm', '-f', '-t', '0', ...ids], { stdio: 'ignore' });
    try { execFileSync('podman', ['network', 'rm', vendorNetworkName(vendorId(v))], { stdio: 'ignore' }); } catch { /* already gone */ }
  }
  await wfm?.close();
  await registry?.stop();
});

test('deployments served by the WFM run on the device, and the WFM hears each transition', async () => {
  wfm.setDeployments([yaml(wasm(12)), yaml(compose('hello'))]);
  await until('both installed', () => lastState('e2e-wasm') === 'installed' && lastState('e2e-compose') === 'installed');
  assert.equal(reportsFor('e2e-wasm').map((r) => r.status.state), ['pending', 'installing', 'installed']);
  assert.equal(reportsFor('e2e-compose').map((r) => r.status.state), ['pending', 'installing', 'installed']);
  const last = reportsFor('e2e-wasm').pop()!;
  assert.is(last.deviceId, DEVICE);
  assert.ok(Number(last.adoptedManifestVersion) >= 1);
  assert.equal(await until('the job logged', () => (published().length ? published() : undefined), 5000), ['10']);
  assert.ok(env().includes('GREETING=hello'));
});

test('a parameter changed and a deployment removed at the WFM: the app restarts with the new value, the other is taken down', async () => {
  const before = wfm.statusReports().length;
  wfm.setDeployments([yaml(wasm(20))]);
  await until('removed', () => lastState('e2e-compose') === 'removed');
  await until('reinstalled', () => wfm.statusReports().slice(before).some((r) => r.deploymentId === 'e2e-wasm' && r.status.state === 'installed'));
  assert.equal(await until('the job ran again', () => (published().length >= 2 ? published() : undefined), 5000), ['10', '16']);
  assert.equal(env(), [], 'the container is gone');
  assert.is((await cli('list', '--json')).stdout.includes('e2e-greeter'), false, 'its package is uninstalled');
});

test('kill -9 of the daemon in the middle of a deployment: after a restart it converges from the adopted state', async () => {
  assert.is((await cli('daemon', '--stop')).code, 0);
  process.env.BULKHEAD_TEST_CRASH_AT = 'fleet-installed:e2e-greeter';
  let pid: number;
  try {
    pid = await spawnDaemon(dataDir);
  } finally {
    delete process.env.BULKHEAD_TEST_CRASH_AT;
  }
  wfm.setDeployments([yaml(wasm(20)), yaml(compose('again'))]);
  await until('the daemon killed itself', () => !alive(pid), 60_000);
  assert.is(daemonPid(dataDir), undefined, 'no daemon holds the lock');
  assert.is(lastState('e2e-compose'), 'installing', 'it died after installing the package, before running it');
  assert.equal(env(), []);
  await spawnDaemon(dataDir);
  await until('installed after the restart', () => lastState('e2e-compose') === 'installed');
  assert.ok(env().includes('GREETING=again'));
});

test.run();
