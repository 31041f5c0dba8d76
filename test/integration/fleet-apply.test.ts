// The apply side of the Margo WFM client with real parts: signed packages pushed to a real OCI
// registry, a real daemon running the wasm apps, real Podman running the compose ones. The applier
// is called directly, with ApplicationDeployment documents as a WFM serves them. Attacks: an
// unsigned artifact, a package signed by another vendor than it claims, an app id owned by another
// vendor, a deployment that would take over an app installed by hand, a parameter aimed at a key
// the vendor never exposed, a bare (unsigned) compose artifact; and a failing deployment beside a
// succeeding one, idempotence, parameter updates, removal, and a kill -9 in the middle.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { packPackage } from '../../packages/archive/pack-package.js';
import { InstalledPackages } from '../../packages/install/installed-packages.js';
import { signPackageFile } from '../../packages/signing/package-signature.js';
import { RegistryClient } from '../../packages/oci/registry-client.js';
import { EMPTY_JSON, MARGO_COMPOSE_ARTIFACT, MARGO_COMPOSE_LAYER, OCI_EMPTY, OCI_MANIFEST } from '../../packages/oci/media-types.js';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { AppRecords } from '../../runtime/apps/app-records.js';
import { spawnDaemon } from '../../runtime/apps/device-daemon.js';
import { componentIdentity } from '../../runtime/fleet/compose-deployment.js';
import { containerName } from '../../runtime/bridge/container-spec.js';
import type { DeploymentStatusReport } from '../../runtime/fleet/deployment-applier.js';
import { vendorNetworkName } from '../../runtime/state/vendor-names.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage, podmanAvailable } from '../../samples/containers/busybox-image.js';
import { adopted, adoptedSpec, deploymentDocument, type DeploymentSpec } from '../support/application-deployments.js';
import { composePackage, openFleetDevice, publish, sensorFilterPackage, trustedVendor, type FleetDevice, type Vendor } from '../support/fleet-device.js';
import { repoRoot, runCli, tempDir } from '../support/paths.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { createHash } from 'node:crypto';

const ACME = 'ACME Industrial';
const GLOBEX = 'Globex Analytics';
const dataDir = tempDir('bulkhead-fleet-apply-');
let registry: TestRegistry;
let device: FleetDevice;
let acme: Vendor;
let globex: Vendor;
let daemonPid = 0;

const states = (reports: DeploymentStatusReport[], id: string) => reports.filter((r) => r.deploymentId === id).map((r) => r.state);
const last = (reports: DeploymentStatusReport[], id: string) => reports.filter((r) => r.deploymentId === id).pop()!;
const containerEnv = (name: string): string[] => JSON.parse(execFileSync('podman', ['inspect', name, '--format', '{{json .Config.Env}}'], { encoding: 'utf8' }));
const containerId = (name: string): string => execFileSync('podman', ['inspect', name, '--format', '{{.Id}}'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
const containerExists = (name: string): boolean => { try { containerId(name); return true; } catch { return false; } };
const webContainer = (appId: string) => containerName(componentIdentity(vendorId(GLOBEX), appId, 'web').deployment, 'web');
/** The app's log rows reach the database in batches, a moment after its state does. */
async function eventually<T>(fn: () => T, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}
const publishedLogs = (appId: string) => new AppRecords(device.db).logs(appId).filter((l) => l.message === 'filtered sensor readings').map((l) => l.fields.published);

let wasmRepo = '';
let composeRepo = '';
const wasmSpec = (over: Partial<DeploymentSpec> = {}): DeploymentSpec => ({
  id: 'dep-wasm', applicationId: 'fleet-filter', repository: wasmRepo, components: ['filter'], type: 'custom',
  parameters: { samples: { value: '12', targets: [{ pointer: 'samples', components: ['filter'] }] } }, ...over,
});
const composeSpec = (over: Partial<DeploymentSpec> = {}): DeploymentSpec => ({
  id: 'dep-compose', applicationId: 'fleet-greeter', repository: composeRepo, components: ['web'], type: 'compose',
  parameters: { greeting: { value: 'hello', targets: [{ pointer: 'GREETING', components: ['web'] }] } }, ...over,
});

test.before(async () => {
  const problem = podmanAvailable();
  if (problem) throw new Error(`these tests need a real Podman engine (.ci/run installs and starts it): ${problem}`);
  ensureBusyboxImage();
  registry = await startRegistry();
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:
  ${ACME}:
    wasm: { fsWritable: true, publish: ["plant/line1/#"], memory: 32Mi }
    images: ["${BUSYBOX_IMAGE}"]
  ${GLOBEX}:
    limits: { memory: 32Mi, cpus: 0.5, pids: 32 }
    images: ["${BUSYBOX_IMAGE}"]
`);
  acme = await trustedVendor(dataDir, ACME);
  globex = await trustedVendor(dataDir, GLOBEX);
  wasmRepo = await publish(registry.address, sensorFilterPackage('fleet-filter', '1.0.0', ACME), acme, { id: 'fleet-filter', version: '1.0.0', vendor: ACME });
  composeRepo = await publish(registry.address, composePackage('fleet-greeter', '1.0.0', GLOBEX, BUSYBOX_IMAGE), globex, { id: 'fleet-greeter', version: '1.0.0', vendor: GLOBEX });
  daemonPid = await spawnDaemon(dataDir);
  device = openFleetDevice(dataDir, { labels: { site: 'plant-7' } });
});

test.after(async () => {
  device?.close();
  if (daemonPid) await runCli(['--data-dir', dataDir, 'daemon', '--stop']);
  for (const v of [ACME, GLOBEX]) {
    const ids = execFileSync('podman', ['ps', '-aq', '--filter', `label=org.bulkhead.vendor=${v}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    if (ids.length) execFileSync('podman', ['rm', '-f', '-t', '0', ...ids], { stdio: 'ignore' });
    try { execFileSync('podman', ['network', 'rm', vendorNetworkName(vendorId(v))], { stdio: 'ignore' }); } catch { /* already gone */ }
  }
  await registry?.stop();
});

test('a wasm app and a compose app deploy from the registry; each transition is reported once, in order', async () => {
  const reports = await device.converge([adoptedSpec(wasmSpec()), adoptedSpec(composeSpec())]);
  assert.equal(states(reports, 'dep-wasm'), ['pending', 'installing', 'installed'], JSON.stringify(last(reports, 'dep-wasm')));
  assert.equal(states(reports, 'dep-compose'), ['pending', 'installing', 'installed'], JSON.stringify(last(reports, 'dep-compose')));
  assert.equal(last(reports, 'dep-wasm').components, [{ name: 'filter', state: 'installed' }]);
  assert.is(device.installed.get('fleet-filter')?.vendor, ACME);
  assert.is(device.installed.get('fleet-greeter')?.vendor, GLOBEX);
  // The job ran with the deployment's value (12 samples: 2 spikes dropped, 10 published).
  assert.equal(await eventually(() => publishedLogs('fleet-filter'), (l) => l.length >= 1), ['10']);
  assert.ok(containerEnv(webContainer('fleet-greeter')).includes('GREETING=hello'));
});

test('the same list again changes nothing and reports nothing', async () => {
  const before = containerId(webContainer('fleet-greeter'));
  const history = (device.db.prepare('SELECT COUNT(*) AS n FROM install_history').get() as { n: number }).n;
  const generation = new AppRecords(device.db).app('fleet-filter')!.generation;
  const reports = await device.converge([adoptedSpec(wasmSpec()), adoptedSpec(composeSpec())]);
  assert.is(new AppRecords(device.db).app('fleet-filter')!.generation, generation, 'the app was not started again');
  assert.equal(reports, []);
  assert.is(containerId(webContainer('fleet-greeter')), before, 'the container was left alone');
  assert.is((device.db.prepare('SELECT COUNT(*) AS n FROM install_history').get() as { n: number }).n, history);
  assert.equal(publishedLogs('fleet-filter'), ['10'], 'the job did not run again');
});

test('a changed parameter restarts the wasm app with the new config value and recreates the container', async () => {
  const reports = await device.converge([
    adoptedSpec(wasmSpec({ parameters: { samples: { value: 20, targets: [{ pointer: 'samples', components: ['filter'] }] } } })),
    adoptedSpec(composeSpec({ parameters: { greeting: { value: 'bonjour', targets: [{ pointer: 'GREETING', components: ['web'] }] } } })),
  ]);
  assert.equal(states(reports, 'dep-wasm'), ['pending', 'installing', 'installed']);
  assert.equal(states(reports, 'dep-compose'), ['pending', 'installing', 'installed']);
  assert.equal(await eventually(() => publishedLogs('fleet-filter'), (l) => l.length >= 2), ['10', '16'], '20 samples: 4 spikes dropped, 16 published');
  assert.ok(containerEnv(webContainer('fleet-greeter')).includes('GREETING=bonjour'));
});

test('a deployment that left the manifest is taken down and uninstalled; the other keeps running', async () => {
  const wasm = adoptedSpec(wasmSpec({ parameters: { samples: { value: 20, targets: [{ pointer: 'samples', components: ['filter'] }] } } }));
  const reports = await device.converge([wasm]);
  assert.equal(states(reports, 'dep-compose'), ['removing', 'removed']);
  assert.equal(last(reports, 'dep-compose').components, [{ name: 'web', state: 'removed' }]);
  assert.equal(states(reports, 'dep-wasm'), [], 'the wasm deployment did not change');
  assert.not.ok(containerExists(webContainer('fleet-greeter')), 'its container is gone');
  assert.is(device.installed.get('fleet-greeter'), undefined, 'its package is uninstalled');
  assert.ok(device.installed.get('fleet-filter'));
});

test('refusals: unsigned, signed by another vendor, owned by another vendor, unmet constraint, invalid field, bare compose artifact — beside a deployment that succeeds', async () => {
  const unsignedRepo = await publish(registry.address, sensorFilterPackage('fleet-unsigned', '1.0.0', ACME), undefined, { id: 'fleet-unsigned', version: '1.0.0', vendor: ACME });
  // Globex's key signs a package that claims to be ACME's.
  const forgedRepo = await publish(registry.address, sensorFilterPackage('fleet-forged', '1.0.0', ACME), globex, { id: 'fleet-forged', version: '1.0.0', vendor: ACME });
  // fleet-filter is ACME's; Globex ships a package with the same id, properly signed by Globex.
  const squatRepo = await publish(registry.address, sensorFilterPackage('fleet-filter', '9.0.0', GLOBEX), globex, { id: 'fleet-filter', version: '9.0.0', vendor: GLOBEX });
  // A bare Margo compose component artifact (no package, no signature).
  const bareRepo = `fleet-test/bare-${Date.now()}`;
  const client = new RegistryClient(registry.address, { plainHttp: true });
  const tgz = fs.readFileSync(path.join(repoRoot, 'package.json'));
  const digest = `sha256:${createHash('sha256').update(tgz).digest('hex')}`;
  const emptyDigest = `sha256:${createHash('sha256').update(EMPTY_JSON).digest('hex')}`;
  await client.pushBlob(bareRepo, emptyDigest, EMPTY_JSON.length, () => EMPTY_JSON);
  await client.pushBlob(bareRepo, digest, tgz.length, () => tgz);
  await client.putManifest(bareRepo, '1.0.0', { schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: MARGO_COMPOSE_ARTIFACT, config: { mediaType: OCI_EMPTY, digest: emptyDigest, size: EMPTY_JSON.length }, layers: [{ mediaType: MARGO_COMPOSE_LAYER, digest, size: tgz.length }] });
  await client.close();

  const invalid = deploymentDocument(wasmSpec({ id: 'dep-invalid', applicationId: 'fleet-invalid' })) as any;
  invalid.spec.deploymentProfile.components[0].properties.revision = '1.0';
  const wasm = adoptedSpec(wasmSpec({ parameters: { samples: { value: 20, targets: [{ pointer: 'samples', components: ['filter'] }] } } }));
  const list = [
    adoptedSpec(wasmSpec({ id: 'dep-unsigned', applicationId: 'fleet-unsigned', repository: unsignedRepo })),
    adoptedSpec(wasmSpec({ id: 'dep-forged', applicationId: 'fleet-forged', repository: forgedRepo })),
    adoptedSpec(wasmSpec({ id: 'dep-squat', applicationId: 'fleet-filter', repository: squatRepo, revision: '9.0.0' })),
    adoptedSpec(wasmSpec({ id: 'dep-big', applicationId: 'fleet-big', deviceConstraints: { capacityRequirements: { memory: '999999Gi' } } })),
    adoptedSpec(wasmSpec({ id: 'dep-elsewhere', applicationId: 'fleet-elsewhere', deviceConstraints: { eligibilityRules: [{ labelSelector: { matchExpressions: [{ key: 'site', operator: 'In', values: ['plant-9'] }] } }] } })),
    adopted('dep-invalid', invalid),
    adoptedSpec(wasmSpec({ id: 'dep-bare', applicationId: 'fleet-bare', repository: `oci://${registry.address}/${bareRepo}`, type: 'compose' })),
    adoptedSpec(wasmSpec({ id: 'dep-helm', applicationId: 'fleet-helm', type: 'helm' })),
    wasm,
    adoptedSpec(composeSpec({ id: 'dep-compose-2' })),
  ];
  const reports = await device.converge(list);
  const failure = (id: string) => {
    const r = last(reports, id);
    assert.is(r?.state, 'failed', `${id}: ${JSON.stringify(r)}`);
    return r.error!;
  };
  assert.is(failure('dep-unsigned').code, 'BH_ERR_SIG_MISSING');
  assert.is(failure('dep-forged').code, 'BH_ERR_SIG_WRONG_VENDOR');
  // dep-squat asks for fleet-filter, which dep-wasm owns: refused before anything is pulled.
  assert.is(failure('dep-squat').code, 'BH_ERR_FLEET_APP_CONFLICT');
  const big = failure('dep-big');
  assert.is(big.code, 'BH_ERR_FLEET_CONSTRAINT');
  assert.match(big.message, /capacityRequirements\.memory: needs 999999Gi, this device has \d+Mi/);
  assert.match(failure('dep-elsewhere').message, /labelSelector\.matchExpressions\[0\] \("site" In\): "site" is "plant-7", not one of "plant-9"/);
  const inv = failure('dep-invalid');
  assert.is(inv.code, 'BH_ERR_FLEET_INVALID');
  assert.match(inv.message, /spec\.deploymentProfile\.components\[0\]\.properties\.revision: "1\.0" must be a SemVer/);
  assert.equal(last(reports, 'dep-invalid').components, [], 'an unreadable deployment names no components');
  assert.is(failure('dep-bare').code, 'BH_ERR_FLEET_UNSUPPORTED');
  assert.match(failure('dep-helm').message, /"helm" is not run on this device/);
  // Errors carry the Margo sources: the deployment's metadata.name, each component's name.
  assert.is(last(reports, 'dep-big').error!.source, 'fleet-big-deployment');
  assert.is(last(reports, 'dep-big').components[0]!.error!.source, 'filter');
  assert.is(last(reports, 'dep-compose-2').state, 'installed', 'a deployment beside the failing ones succeeds');
  for (const id of ['fleet-unsigned', 'fleet-forged', 'fleet-big', 'fleet-elsewhere', 'fleet-bare']) assert.is(device.installed.get(id), undefined, `${id} is not installed`);
  assert.is(device.installed.get('fleet-filter')!.vendor, ACME, "ACME's app was not replaced");

  // The same list again: the permanent failures are not retried and not reported again.
  assert.equal(await device.converge(list), []);
  // Removing the failed ones reports them removed; the good ones stay.
  const after = await device.converge([wasm]);
  assert.equal(states(after, 'dep-unsigned'), ['removing', 'removed']);
  assert.equal(states(after, 'dep-compose-2'), ['removing', 'removed']);
  assert.ok(device.installed.get('fleet-filter'));
});

test('an app installed by hand is never taken over, and never removed by the fleet', async () => {
  const dir = sensorFilterPackage('hand-made', '1.0.0', ACME);
  const out = tempDir();
  const file = path.join(out, 'hand-made.bhpkg');
  await packPackage(dir, file);
  await signPackageFile(file, acme.key, { id: 'hand-made', version: '1.0.0', vendor: ACME }, `${file}.minisig`);
  const install = await runCli(['--data-dir', dataDir, 'install', file]);
  assert.is(install.code, 0, install.stderr);
  const repo = await publish(registry.address, sensorFilterPackage('hand-made', '2.0.0', ACME), acme, { id: 'hand-made', version: '2.0.0', vendor: ACME });
  const wasm = adoptedSpec(wasmSpec({ parameters: { samples: { value: 20, targets: [{ pointer: 'samples', components: ['filter'] }] } } }));
  const reports = await device.converge([wasm, adoptedSpec(wasmSpec({ id: 'dep-hand', applicationId: 'hand-made', repository: repo, revision: '2.0.0' }))]);
  const r = last(reports, 'dep-hand');
  assert.is(r.state, 'failed');
  assert.is(r.error!.code, 'BH_ERR_FLEET_APP_CONFLICT');
  assert.match(r.error!.message, /hand-made was installed on this device by hand/);
  assert.is(device.installed.get('hand-made')!.version, '1.0.0');
  await device.converge([wasm]);
  assert.is(device.installed.get('hand-made')!.version, '1.0.0', 'removing the deployment left the hand-installed app alone');
});

/** Runs one converge in a child process (the daemon's role), which kills itself with SIGKILL at `crashAt`. */
async function convergeInChild(deployments: ReturnType<typeof adoptedSpec>[], crashAt: string): Promise<{ signal: NodeJS.Signals | null; reports: DeploymentStatusReport[] }> {
  const input = path.join(tempDir(), 'deployments.json');
  fs.writeFileSync(input, JSON.stringify(deployments.map((d) => ({ ...d, document: d.document.toString('base64') }))));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/support/fleet-converge-child.ts'), dataDir, input], {
    cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BULKHEAD_TEST_CRASH_AT: crashAt },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, sig) => resolve(sig)));
  assert.not.match(err, /Error/, err);
  return { signal, reports: out.split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

test('kill -9 after the install, before the app runs: the next converge finishes it', async () => {
  const wasm = adoptedSpec(wasmSpec({ parameters: { samples: { value: 20, targets: [{ pointer: 'samples', components: ['filter'] }] } } }));
  const greeter = adoptedSpec(composeSpec({ id: 'dep-crash', parameters: { greeting: { value: 'crash', targets: [{ pointer: 'GREETING', components: ['web'] }] } } }));
  const child = await convergeInChild([wasm, greeter], 'fleet-installed:fleet-greeter');
  assert.is(child.signal, 'SIGKILL', JSON.stringify(child.reports));
  assert.equal(states(child.reports, 'dep-crash'), ['pending', 'installing']);
  assert.ok(new InstalledPackages(device.db, dataDir).get('fleet-greeter'), 'the package was installed when it died');
  assert.not.ok(containerExists(webContainer('fleet-greeter')), 'nothing ran yet');
  const reports = await device.converge([wasm, greeter]);
  assert.is(last(reports, 'dep-crash').state, 'installed');
  assert.ok(containerEnv(webContainer('fleet-greeter')).includes('GREETING=crash'));
});

test('kill -9 in the middle of a removal: the next converge completes it', async () => {
  const wasm = adoptedSpec(wasmSpec({ parameters: { samples: { value: 20, targets: [{ pointer: 'samples', components: ['filter'] }] } } }));
  const child = await convergeInChild([wasm], 'fleet-removing:fleet-greeter');
  assert.is(child.signal, 'SIGKILL', JSON.stringify(child.reports));
  assert.equal(states(child.reports, 'dep-crash'), ['removing']);
  assert.not.ok(containerExists(webContainer('fleet-greeter')), 'taken down before it died');
  assert.ok(new InstalledPackages(device.db, dataDir).get('fleet-greeter'), 'not yet uninstalled');
  const reports = await device.converge([wasm]);
  assert.equal(states(reports, 'dep-crash'), ['removed'], 'removing was already reported; only removed is new');
  assert.is(new InstalledPackages(device.db, dataDir).get('fleet-greeter'), undefined);
  assert.is((device.db.prepare("SELECT COUNT(*) AS n FROM fleet_deployments WHERE deployment_id = 'dep-crash'").get() as { n: number }).n, 0);
});

test('an app id that another vendor owns is refused by the installer\'s ownership rule', async () => {
  // fleet-greeter was Globex's (uninstalled since: ownership outlives uninstall). ACME signs its own.
  const repo = await publish(registry.address, composePackage('fleet-greeter', '3.0.0', ACME, BUSYBOX_IMAGE), acme, { id: 'fleet-greeter', version: '3.0.0', vendor: ACME });
  const wasm = adoptedSpec(wasmSpec({ parameters: { samples: { value: 20, targets: [{ pointer: 'samples', components: ['filter'] }] } } }));
  const reports = await device.converge([wasm, adoptedSpec(composeSpec({ id: 'dep-owned', repository: repo, revision: '3.0.0' }))]);
  const r = last(reports, 'dep-owned');
  assert.is(r.state, 'failed');
  assert.is(r.error!.code, 'BH_ERR_APP_OWNED');
  assert.match(r.error!.message, /app id fleet-greeter belongs to "Globex Analytics"/);
  assert.is(device.installed.get('fleet-greeter'), undefined);
  await device.converge([wasm]);
});

test('an aborted converge changes and reports nothing', async () => {
  const controller = new AbortController();
  controller.abort();
  const seen: DeploymentStatusReport[] = [];
  await device.applier.converge([adoptedSpec(composeSpec({ id: 'dep-aborted' }))], (r) => seen.push(r), controller.signal);
  assert.equal(seen, []);
  assert.is(device.installed.get('fleet-greeter'), undefined);
});

test('a new revision restarts the app on the new version; an older one is refused (no downgrade through the fleet)', async () => {
  const repo2 = await publish(registry.address, sensorFilterPackage('fleet-filter', '2.0.0', ACME), acme, { id: 'fleet-filter', version: '2.0.0', vendor: ACME });
  const samples20 = { samples: { value: 20, targets: [{ pointer: 'samples', components: ['filter'] }] } };
  const runs = publishedLogs('fleet-filter').length;
  const up = await device.converge([adoptedSpec(wasmSpec({ repository: repo2, revision: '2.0.0', parameters: samples20 }))]);
  assert.equal(states(up, 'dep-wasm'), ['pending', 'installing', 'installed']);
  assert.is(device.installed.get('fleet-filter')!.version, '2.0.0');
  assert.equal((await eventually(() => publishedLogs('fleet-filter'), (l) => l.length > runs)).slice(runs), ['16'], 'the app ran again, on the new version, with the same values');
  const down = await device.converge([adoptedSpec(wasmSpec({ parameters: samples20 }))]);
  const r = last(down, 'dep-wasm');
  assert.is(r.state, 'failed');
  assert.is(r.error!.code, 'BH_ERR_ROLLBACK');
  assert.is(device.installed.get('fleet-filter')!.version, '2.0.0');
  assert.is(publishedLogs('fleet-filter').length, runs + 1, 'nothing ran');
});

test('a package the operator installed by hand over a fleet app is left alone when the deployment goes', async () => {
  const repo = await publish(registry.address, sensorFilterPackage('fleet-handover', '1.0.0', ACME), acme, { id: 'fleet-handover', version: '1.0.0', vendor: ACME });
  const spec = wasmSpec({ id: 'dep-handover', applicationId: 'fleet-handover', repository: repo });
  assert.is(last(await device.converge([adoptedSpec(spec)]), 'dep-handover').state, 'installed');
  const file = path.join(tempDir(), 'fleet-handover-1.1.0.bhpkg');
  await packPackage(sensorFilterPackage('fleet-handover', '1.1.0', ACME), file);
  await signPackageFile(file, acme.key, { id: 'fleet-handover', version: '1.1.0', vendor: ACME }, `${file}.minisig`);
  const install = await runCli(['--data-dir', dataDir, 'install', file]);
  assert.is(install.code, 0, install.stderr);
  const reports = await device.converge([]);
  assert.equal(states(reports, 'dep-handover'), ['removing', 'removed']);
  assert.is(device.installed.get('fleet-handover')?.version, '1.1.0', "the operator's package stays installed");
});

test.run();
