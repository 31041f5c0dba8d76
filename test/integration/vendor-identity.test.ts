// Issue 9, item 3: one vendor identity. Vendors whose names slug alike get distinct data roots and
// engine objects, and ownership is decided by the exact name: "Möller Automation" cannot read
// "Müller Automation"'s files (real components, real sandbox threads); "Heldout" + project a-x and
// "Heldout A" + project x do not see or delete each other's containers (real Podman). A data dir
// of the old layout is migrated once, and an ambiguous one is refused without moving anything.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { AppHost } from '../../runtime/apps/app-host.js';
import { containerName } from '../../runtime/bridge/container-spec.js';
import { loadDevicePolicy } from '../../runtime/state/device-policy.js';
import { openStateDb } from '../../runtime/state/state-db.js';
import { deploymentName, legacyVendorDirName, vendorDataRoot, vendorDirName, vendorNetworkName } from '../../runtime/state/vendor-names.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage, podmanAvailable } from '../../samples/containers/busybox-image.js';
import { runCli, sample, tempDir } from '../support/paths.js';

const MOELLER = vendorId('Möller Automation');
const MUELLER = vendorId('Müller Automation');

test('Möller and Müller Automation get distinct data roots and cannot read each other\'s store', async () => {
  assert.is(legacyVendorDirName(MOELLER), legacyVendorDirName(MUELLER), 'the old names collided');
  const dataDir = tempDir('bulkhead-umlaut-');
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:\n  ${MOELLER}: { wasm: {}, images: ["${BUSYBOX_IMAGE}"] }\n  ${MUELLER}: { wasm: {}, images: ["${BUSYBOX_IMAGE}"] }\n`);
  const policy = loadDevicePolicy(dataDir);
  const roots = [MOELLER, MUELLER].map((v) => vendorDataRoot(v, policy, dataDir));
  assert.is.not(roots[0], roots[1]);
  for (const [i, v] of [MOELLER, MUELLER].entries()) {
    fs.mkdirSync(path.join(roots[i]!, 'store'), { recursive: true });
    fs.writeFileSync(path.join(roots[i]!, 'store', 'secret.txt'), `${v === MOELLER ? 'MOELLER' : 'MUELLER'}-SECRET\n`);
  }
  const db = openStateDb(dataDir);
  const lines = new Map<string, string[]>();
  const host = new AppHost({
    dataDir, db, policy: () => loadDevicePolicy(dataDir),
    onEvent: (e) => { if (e.kind === 'log') lines.set(e.row.appId, [...(lines.get(e.row.appId) ?? []), e.row.message]); },
  });
  try {
    for (const [appId, vendor, own] of [['moeller-reader', MOELLER, 'MOELLER-SECRET'], ['mueller-reader', MUELLER, 'MUELLER-SECRET']] as const) {
      const dir = path.join(dataDir, 'src', appId);
      fs.mkdirSync(path.join(dir, 'components'), { recursive: true });
      fs.copyFileSync(sample('vendors/build/rogue-swap.wasm'), path.join(dir, 'components', 'reader.wasm'));
      fs.writeFileSync(path.join(dir, 'margo.yaml'), `apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
metadata: { id: ${appId}, name: ${appId}, version: 1.0.0, catalog: { organization: [{ name: ${vendor} }] } }
deploymentProfiles:
  - type: x-bulkhead-wasm
    components:
      - { name: main, properties: { module: components/reader.wasm, args: [read], capabilities: { fs: [{ guest: /data, path: store, mode: ro }] } } }
`);
      await host.start({ appId, version: '1.0.0', vendor, digest: '', path: dir, installedAt: '' });
      await host.ended(appId);
      host.flushLogs();
      const out = lines.get(appId) ?? [];
      assert.ok(out.includes(`read: ${own}`), `${vendor} reads its own store: ${out.join(' | ')}`);
    }
  } finally {
    await host.close();
    db.close();
  }
});

const podmanProblem = podmanAvailable();

test('Heldout/a-x and Heldout A/x compose deployments neither see nor delete each other\'s containers', async () => {
  if (podmanProblem) throw new Error(`this test needs a real Podman engine (.ci/run installs and starts it): ${podmanProblem}`);
  ensureBusyboxImage();
  const dataDir = tempDir('bulkhead-heldout-');
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:\n  Heldout: { images: ["${BUSYBOX_IMAGE}"] }\n  Heldout A: { images: ["${BUSYBOX_IMAGE}"] }\n`);
  const app = (project: string) => {
    const dir = path.join(tempDir(), project);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'compose.yaml'), `name: ${project}\nservices:\n  app:\n    image: ${BUSYBOX_IMAGE}\n    command: ["sleep", "3600"]\n`);
    return path.join(dir, 'compose.yaml');
  };
  const deployments = [['Heldout', 'a-x'], ['Heldout A', 'x']] as const;
  const compose = (i: number, ...args: string[]) => runCli(['--data-dir', dataDir, 'compose', ...args, '-f', app(deployments[i]![1]), '--vendor', deployments[i]![0], '--json']);
  const names = deployments.map(([v, p]) => containerName(deploymentName(vendorId(v), p), 'app'));
  assert.is.not(names[0], names[1]);
  try {
    for (const i of [0, 1]) {
      const up = await compose(i, 'up');
      assert.is(up.code, 0, up.stderr);
      assert.equal(JSON.parse(up.stdout).actions, [{ service: 'app', action: 'created' }], `${deployments[i]![0]}'s up created its own container, replacing nothing`);
    }
    for (const i of [0, 1]) {
      const ps = JSON.parse((await compose(i, 'ps')).stdout) as { container: string }[];
      assert.equal(ps.map((r) => r.container), [names[i]], `${deployments[i]![0]} sees only its own container`);
    }
    const down = await compose(1, 'down');
    assert.equal(JSON.parse(down.stdout).removed, ['app']);
    const left = execFileSync('podman', ['ps', '-a', '--format', '{{.Names}}'], { encoding: 'utf8' }).split('\n');
    assert.ok(left.includes(names[0]!), 'Heldout\'s container survived Heldout A\'s down');
    assert.not.ok(left.includes(names[1]!));
    const labels = JSON.parse(execFileSync('podman', ['inspect', names[0]!], { encoding: 'utf8' }))[0].Config.Labels;
    assert.is(labels['org.bulkhead.vendor'], 'Heldout');
    assert.is(labels['org.bulkhead.project'], 'a-x');
  } finally {
    for (const n of names) execFileSync('podman', ['rm', '-f', '-t', '0', '--ignore', n], { stdio: 'ignore' });
    for (const [v] of deployments) {
      try { execFileSync('podman', ['network', 'rm', vendorNetworkName(vendorId(v))], { stdio: 'ignore' }); } catch { /* already gone */ }
    }
  }
});

test('an old-layout data dir: an ambiguous root is refused naming both vendors, moving nothing; then each root moves once', async () => {
  const dataDir = tempDir('bulkhead-migrate-');
  const policyFile = path.join(dataDir, 'policy.yaml');
  fs.writeFileSync(policyFile, `vendors:\n  ACME Industrial: { wasm: {} }\n  ${MOELLER}: { wasm: {} }\n  ${MUELLER}: { wasm: {} }\n`);
  const legacy = (name: string, file: string) => {
    fs.mkdirSync(path.join(dataDir, 'vendors', name), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'vendors', name, file), `${name}\n`);
  };
  legacy('acme-industrial', 'acme.txt');
  legacy('m-ller-automation', 'shared.txt');
  legacy('orphan-vendor', 'orphan.txt');

  const refused = await runCli(['--data-dir', dataDir, 'trust', 'list']);
  assert.is(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /vendor data roots need a decision \(nothing was moved\)/);
  assert.match(refused.stderr, /m-ller-automation could belong to "Möller Automation" or "Müller Automation"/);
  assert.not.match(refused.stderr, /at .*\.ts:\d+/, 'no stack trace');
  assert.equal(fs.readdirSync(path.join(dataDir, 'vendors')).sort(), ['acme-industrial', 'm-ller-automation', 'orphan-vendor'], 'nothing moved');

  // The operator decides: the shared root was Möller's, and Müller is no longer configured.
  fs.writeFileSync(policyFile, `vendors:\n  ACME Industrial: { wasm: {} }\n  ${MOELLER}: { wasm: {} }\n`);
  const migrated = await runCli(['--data-dir', dataDir, 'trust', 'list']);
  assert.is(migrated.code, 0, migrated.stderr);
  const acme = vendorDirName(vendorId('ACME Industrial'));
  assert.equal(fs.readdirSync(path.join(dataDir, 'vendors')).sort(), [acme, vendorDirName(MOELLER), 'orphan-vendor'].sort());
  assert.is(fs.readFileSync(path.join(dataDir, 'vendors', acme, 'acme.txt'), 'utf8'), 'acme-industrial\n');
  assert.is(fs.readFileSync(path.join(dataDir, 'vendors', vendorDirName(MOELLER), 'shared.txt'), 'utf8'), 'm-ller-automation\n');
  assert.match(migrated.stderr, /moved ACME Industrial's data root/);

  // Recorded: it runs once. A directory that appears under an old name later is left alone.
  legacy('acme-industrial', 'late.txt');
  fs.writeFileSync(policyFile, `vendors:\n  ACME Industrial: { wasm: {} }\n  ${MOELLER}: { wasm: {} }\n  ${MUELLER}: { wasm: {} }\n`);
  const again = await runCli(['--data-dir', dataDir, 'trust', 'list']);
  assert.is(again.code, 0, again.stderr);
  assert.ok(fs.existsSync(path.join(dataDir, 'vendors', 'acme-industrial', 'late.txt')));
  assert.not.match(again.stderr, /moved/);
});

test.run();
