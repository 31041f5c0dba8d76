// The fleet link's promises to a real daemon (fleet-e2e.test.ts covers deploying, updating,
// removing and kill -9): with our own test WFM (test/support/test-wfm.ts: our peer speaking the
// published Workload Management API 1.0.0-rc.3 over mTLS, since no reference WFM can run here),
// signed packages in the real registry and real Podman, a replayed older manifest is refused and
// shown while the device keeps its state, and with the WFM gone a restarted daemon runs its last
// adopted state without recreating anything.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { daemonPid, spawnDaemon } from '../../runtime/apps/device-daemon.js';
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

const WASM_VENDOR = 'Initech Automation';
const COMPOSE_VENDOR = 'Umbrella Controls';
const dataDir = tempDir('bh-fleet-offline-');
const pki = makeSpiffePki();
let registry: TestRegistry;
let wfm: TestWfm;
let wasmRepo = '';
let composeRepo = '';

const wasmSpec = (samples = '12'): DeploymentSpec => ({
  id: 'off-wasm', applicationId: 'off-filter', repository: wasmRepo, components: ['filter'], type: 'custom',
  parameters: { samples: { value: samples, targets: [{ pointer: 'samples', components: ['filter'] }] } },
});
const composeSpec = (greeting = 'hello'): DeploymentSpec => ({
  id: 'off-compose', applicationId: 'off-greeter', repository: composeRepo, components: ['web'], type: 'compose',
  parameters: { greeting: { value: greeting, targets: [{ pointer: 'GREETING', components: ['web'] }] } },
});
const served = (s: DeploymentSpec) => ({ id: s.id, yaml: YAML.stringify(deploymentDocument(s)) });
const web = () => containerName(componentIdentity(vendorId(COMPOSE_VENDOR), 'off-greeter', 'web').deployment, 'web');
const containerEnv = (name: string): string[] => JSON.parse(execFileSync('podman', ['inspect', name, '--format', '{{json .Config.Env}}'], { encoding: 'utf8' }));
const containerExists = (name: string): boolean => {
  try { execFileSync('podman', ['inspect', name, '--format', '{{.Id}}'], { stdio: 'ignore' }); return true; } catch { return false; }
};

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve().then(fn).catch(() => undefined);
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; daemon log: ${fs.readFileSync(path.join(dataDir, 'daemon.log'), 'utf8').slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The last report the WFM received for a deployment under manifest `version`. */
const reported = (id: string, version: number) => wfm.statusReports().filter((r) => r.deploymentId === id && r.adoptedManifestVersion === version).pop();
const reportedState = (id: string, version: number, state: string) => until(`${id} ${state} at manifest ${version}`, () => reported(id, version)?.status.state === state);
const fleetStatus = async () => JSON.parse((await runCli(['--data-dir', dataDir, 'fleet', 'status', '--json'])).stdout);

async function stopDaemon(): Promise<void> {
  await runCli(['--data-dir', dataDir, 'daemon', '--stop']);
  await until('the daemon gone', () => daemonPid(dataDir) === undefined, 30_000);
}

test.before(async () => {
  const problem = podmanAvailable();
  if (problem) throw new Error(`these tests need a real Podman engine (.ci/run installs and starts it): ${problem}`);
  ensureBusyboxImage();
  registry = await startRegistry();
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:
  ${WASM_VENDOR}:
    wasm: { fsWritable: true, publish: ["plant/line1/#"], memory: 32Mi }
  ${COMPOSE_VENDOR}:
    limits: { memory: 32Mi, cpus: 0.5, pids: 32 }
    images: ["${BUSYBOX_IMAGE}"]
`);
  const wasmVendor = await trustedVendor(dataDir, WASM_VENDOR);
  const composeVendor = await trustedVendor(dataDir, COMPOSE_VENDOR);
  wasmRepo = await publish(registry.address, sensorFilterPackage('off-filter', '1.0.0', WASM_VENDOR), wasmVendor, { id: 'off-filter', version: '1.0.0', vendor: WASM_VENDOR });
  composeRepo = await publish(registry.address, composePackage('off-greeter', '1.0.0', COMPOSE_VENDOR, BUSYBOX_IMAGE), composeVendor, { id: 'off-greeter', version: '1.0.0', vendor: COMPOSE_VENDOR });
  wfm = await TestWfm.start({ server: pki.wfm, clientCa: pki.ca, wfmSpiffeId: WFM_SPIFFE_ID });
  wfm.setDeployments([served(wasmSpec()), served(composeSpec())]);
  const join = await runCli(['--data-dir', dataDir, 'fleet', 'join', '--wfm', wfm.url, '--device-id', 'test-device',
    '--cert', pki.device.cert, '--key', pki.device.key, '--trust-bundle', pki.ca, '--poll-interval', '1']);
  assert.is(join.code, 0, join.stderr);
  await spawnDaemon(dataDir);
});

test.after(async () => {
  await runCli(['--data-dir', dataDir, 'daemon', '--stop']);
  await wfm?.close();
  for (const v of [WASM_VENDOR, COMPOSE_VENDOR]) {
    const ids = execFileSync('podman', ['ps', '-aq', '--filter', `label=org.bulkhead.vendor=${v}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    if (ids.length) execFileSync('podman', ['rm', '-f', '-t', '0', ...ids], { stdio: 'ignore' });
    try { execFileSync('podman', ['network', 'rm', vendorNetworkName(vendorId(v))], { stdio: 'ignore' }); } catch { /* already gone */ }
  }
  await registry?.stop();
});

test('the daemon follows the WFM: both apps installed and reported', async () => {
  const v = wfm.manifestVersion;
  await reportedState('off-wasm', v, 'installed');
  await reportedState('off-compose', v, 'installed');
  const states = wfm.statusReports().filter((r) => r.deploymentId === 'off-compose').map((r) => r.status.state);
  assert.equal(states, ['pending', 'installing', 'installed']);
  assert.is(reported('off-compose', v)!.deviceId, 'test-device');
  assert.ok(containerEnv(web()).includes('GREETING=hello'));
  const status = await fleetStatus();
  assert.is(status.adopted.manifestVersion, String(v));
  assert.is(status.reportsPending, 0);
});

test('an older manifest replayed by the WFM is refused and shown; nothing changes on the device', async () => {
  const adoptedVersion = wfm.manifestVersion;
  wfm.setDeployments([served(wasmSpec())], adoptedVersion - 1);
  const status = await until('a refusal', async () => { const s = await fleetStatus(); return s.link.lastRefusal?.code === 'BH_ERR_FLEET_ROLLBACK' && s; });
  assert.is(status.adopted.manifestVersion, String(adoptedVersion));
  assert.ok(containerExists(web()), 'the compose deployment was not removed');
  // The WFM moves on past the version the device adopted.
  wfm.setDeployments([served(wasmSpec()), served(composeSpec('bonjour'))], adoptedVersion + 1);
  await reportedState('off-compose', adoptedVersion + 1, 'installed');
  assert.ok(containerEnv(web()).includes('GREETING=bonjour'));
});

test('with the WFM gone, a restarted daemon keeps running its last adopted state', async () => {
  await stopDaemon();
  const containerBefore = execFileSync('podman', ['inspect', web(), '--format', '{{.Id}}'], { encoding: 'utf8' }).trim();
  await wfm.close();
  await spawnDaemon(dataDir);
  const status = await until('a failed poll', async () => { const s = await fleetStatus(); return s.link.lastError?.code === 'BH_ERR_FLEET_UNREACHABLE' && s; });
  assert.is(status.adopted.deployments.length, 2);
  assert.ok(containerExists(web()));
  assert.is(execFileSync('podman', ['inspect', web(), '--format', '{{.Id}}'], { encoding: 'utf8' }).trim(), containerBefore, 'the container was kept, not recreated');
  const apps = JSON.parse((await runCli(['--data-dir', dataDir, 'status', '--json'])).stdout);
  assert.ok(JSON.stringify(apps).includes('off-filter'), 'the wasm app is still known to the daemon');
});

test.run();
