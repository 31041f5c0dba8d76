// The sample vendors' apps as signed packages: each vendor has its own key; each app is packed
// from samples/packages/<id> with its component copied in, and signed. Used by the demo and tests.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packPackage } from '../packages/archive/pack-package.js';
import { signPackageFile } from '../packages/signing/package-signature.js';
import { formatPublicKey, generateKeyPair, type SecretKey } from '../packages/signing/minisign.js';
import { vendorId } from '../packages/trust/vendor-id.js';
import { vendorDirName } from '../runtime/state/vendor-names.js';
import { samplePackageDir } from './build.js';

export const SAMPLE_POLICY_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'vendors', 'device-policy.yaml');

export const SAMPLE_APPS: Record<string, { vendor: string; component: string }> = {
  'acme-sensor-filter': { vendor: 'ACME Industrial', component: 'sensor-filter.wasm' },
  'globex-dashboard': { vendor: 'Globex Analytics', component: 'dashboard.wasm' },
  'rogue-probe': { vendor: 'Rogue Labs', component: 'rogue-probe.wasm' },
  'rogue-spin': { vendor: 'Rogue Labs', component: 'rogue-spin.wasm' },
  'rogue-hog': { vendor: 'Rogue Labs', component: 'rogue-hog.wasm' },
};

export interface SignedSample { appId: string; vendor: string; file: string }
export interface VendorKey { vendor: string; publicFile: string }

/** Packs and signs the given sample apps into `outDir`; returns the packages and each vendor's public key file. */
export async function signedSamplePackages(outDir: string, appIds: string[] = Object.keys(SAMPLE_APPS)): Promise<{ packages: SignedSample[]; keys: VendorKey[] }> {
  fs.mkdirSync(outDir, { recursive: true });
  const keys = new Map<string, SecretKey>();
  const packages: SignedSample[] = [];
  for (const appId of appIds) {
    const { vendor, component } = SAMPLE_APPS[appId]!;
    let key = keys.get(vendor);
    if (!key) {
      key = await generateKeyPair();
      keys.set(vendor, key);
      fs.writeFileSync(path.join(outDir, `${vendorFile(vendor)}.pub`), formatPublicKey(key));
    }
    const dir = samplePackageDir(appId, { [component]: `vendors/build/${component}` });
    const file = path.join(outDir, `${appId}-1.0.0.bhpkg`);
    await packPackage(dir, file);
    await signPackageFile(file, key, { id: appId, version: '1.0.0', vendor }, `${file}.minisig`);
    packages.push({ appId, vendor, file });
  }
  return { packages, keys: [...keys.keys()].map((vendor) => ({ vendor, publicFile: path.join(outDir, `${vendorFile(vendor)}.pub`) })) };
}

const vendorFile = (vendor: string) => vendorDirName(vendorId(vendor));
