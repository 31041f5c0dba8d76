// A device for fleet apply tests: a data dir with a policy, trusted vendor keys, a real daemon,
// signed packages pushed to the real test registry, and the applier the daemon would build.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { packPackage } from '../../packages/archive/pack-package.js';
import { InstalledPackages } from '../../packages/install/installed-packages.js';
import { parseReference } from '../../packages/oci/oci-reference.js';
import { pushPackage } from '../../packages/oci/package-transport.js';
import { RegistryClient } from '../../packages/oci/registry-client.js';
import { encodePublicKeyBase64, generateKeyPair, type SecretKey } from '../../packages/signing/minisign.js';
import { signPackageFile } from '../../packages/signing/package-signature.js';
import { TrustStore } from '../../packages/trust/trust-store.js';
import { openStateDb } from '../../runtime/state/state-db.js';
import type { DeploymentApplier, DeploymentStatusReport } from '../../runtime/fleet/deployment-applier.js';
import { machineFacts } from '../../runtime/fleet/device-facts.js';
import { daemonDeploymentApplier } from '../../runtime/fleet/fleet-applier.js';
import { craftTarGz } from './package-fixtures.js';
import { sample, tempDir } from './paths.js';

export const DEVICE_ID = 'test-device';

export interface FleetDevice {
  dataDir: string;
  db: Database.Database;
  installed: InstalledPackages;
  applier: DeploymentApplier;
  reports: DeploymentStatusReport[];
  converge(deployments: Parameters<DeploymentApplier['converge']>[0]): Promise<DeploymentStatusReport[]>;
  close(): void;
}

export function openFleetDevice(dataDir: string, options: { labels?: Record<string, string> } = {}): FleetDevice {
  const db = openStateDb(dataDir);
  const installed = new InstalledPackages(db, dataDir);
  // What the daemon builds (same trust store, installer, policy and facts).
  const applier = daemonDeploymentApplier({ dataDir, db, facts: () => machineFacts(dataDir, DEVICE_ID, options.labels) });
  const reports: DeploymentStatusReport[] = [];
  return {
    dataDir, db, installed, applier, reports,
    async converge(deployments) {
      const mine: DeploymentStatusReport[] = [];
      await applier.converge(deployments, (r) => { mine.push(r); reports.push(r); });
      return mine;
    },
    close: () => db.close(),
  };
}

export interface Vendor { name: string; key: SecretKey }

export async function trustedVendor(dataDir: string, name: string): Promise<Vendor> {
  const key = await generateKeyPair();
  const db = openStateDb(dataDir);
  try {
    new TrustStore(db).add(encodePublicKeyBase64(key), name, 'vendor');
  } finally {
    db.close();
  }
  return { name, key };
}

/** A package directory with the given margo.yaml and files. */
export function packageDir(manifest: string, files: Record<string, string | Buffer> = {}): string {
  const dir = tempDir('bulkhead-fleet-pkg-');
  fs.writeFileSync(path.join(dir, 'margo.yaml'), manifest);
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

/** The sample sensor filter (reads `samples` and `threshold` through bulkhead:host/config), as `vendor`'s app `id`. */
export function sensorFilterPackage(id: string, version: string, vendor: string): string {
  return packageDir(`apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
metadata:
  id: ${id}
  name: Sensor filter
  version: ${version}
  catalog:
    organization:
      - name: ${JSON.stringify(vendor)}
deploymentProfiles:
  - type: x-bulkhead-wasm
    components:
      - name: filter
        properties:
          module: components/sensor-filter.wasm
          kind: component
          capabilities:
            fs:
              - { guest: /data, path: ${id}, mode: rw }
            messaging:
              publish: [plant/line1/temperature]
parameters:
  samples:
    value: "12"
    targets:
      - pointer: samples
        components: [filter]
`, { 'components/sensor-filter.wasm': fs.readFileSync(sample('vendors/build/sensor-filter.wasm')) });
}

/** A compose package whose one component `web` sleeps with GREETING in its environment. */
export function composePackage(id: string, version: string, vendor: string, image: string): string {
  const archive = craftTarGz(path.join(tempDir(), 'web.tar.gz'), [
    { path: 'web/', type: 'Directory' },
    { path: 'web/compose.yaml', data: `services:\n  web:\n    image: ${image}\n    command: ["sh", "-c", "exec sleep 3600"]\n` },
  ]);
  return packageDir(`apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
metadata:
  id: ${id}
  name: Greeter
  version: ${version}
  catalog:
    organization:
      - name: ${JSON.stringify(vendor)}
deploymentProfiles:
  - type: compose
    components:
      - name: web
        properties:
          archive: compose/web.tar.gz
parameters:
  greeting:
    value: hello
    targets:
      - pointer: GREETING
        components: [web]
`, { 'compose/web.tar.gz': fs.readFileSync(archive) });
}

/**
 * Packs `dir`, signs it with `signer` binding it to `claimedVendor` (the package's own vendor unless
 * a test forges), and pushes it to `registry` under a fresh repository. Returns `oci://...`.
 */
export async function publish(registry: string, dir: string, signer: Vendor | undefined, binding: { id: string; version: string; vendor: string }): Promise<string> {
  const out = tempDir('bulkhead-fleet-pub-');
  const file = path.join(out, `${binding.id}-${binding.version}.bhpkg`);
  await packPackage(dir, file);
  const signatures: string[] = [];
  if (signer) {
    await signPackageFile(file, signer.key, binding, `${file}.minisig`);
    signatures.push(`${file}.minisig`);
  }
  const repo = `fleet-test/${binding.id}-${randomBytes(4).toString('hex')}`;
  const client = new RegistryClient(registry, { plainHttp: true });
  try {
    await pushPackage(client, file, parseReference(`${registry}/${repo}`), signatures);
  } finally {
    await client.close();
  }
  return `oci://${registry}/${repo}`;
}
