// `bulkhead install`: verify into a staging directory, check version monotonicity, move into the
// content-addressed store with one rename, then record it in one transaction. A failure at any step
// leaves the previously installed version in place and removes the staging directory.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { PackageError } from '../package-errors.js';
import { InstalledPackages, type InstalledPackage } from './installed-packages.js';
import { verifyPackageInto, type VerifiedPackage, type VerifyOptions } from './package-verifier.js';

export interface InstallOptions extends VerifyOptions {
  dataDir: string;
  installed: InstalledPackages;
  /** Permit installing a version lower than or equal to the installed one. */
  allowDowngrade?: boolean;
  /**
   * Runs on the verified, still-staged package before anything is committed; throwing aborts the
   * install with nothing changed (the runtime prepares wasm components here).
   */
  beforeCommit?: (verified: VerifiedPackage, stagedDir: string) => Promise<void>;
}

export interface InstallResult { verified: VerifiedPackage; installed: InstalledPackage; previous?: InstalledPackage }

export async function installPackage(file: string, options: InstallOptions): Promise<InstallResult> {
  const stagingRoot = path.join(options.dataDir, 'staging');
  const storeRoot = path.join(options.dataDir, 'packages');
  fs.mkdirSync(stagingRoot, { recursive: true, mode: 0o700 });
  fs.mkdirSync(storeRoot, { recursive: true, mode: 0o755 });
  const staging = path.join(stagingRoot, `install-${randomBytes(6).toString('hex')}`);
  try {
    const verified = await verifyPackageInto(file, staging, options);
    const { id, version } = verified.manifest.metadata;
    const previous = options.installed.get(id);
    if (previous && !options.allowDowngrade && !semver.gt(version, previous.version)) {
      throw new PackageError('BH_ERR_ROLLBACK', `${id} ${version} is not newer than the installed ${previous.version}; pass --allow-downgrade to install it anyway`);
    }
    await options.beforeCommit?.(verified, staging);
    const target = path.join(storeRoot, verified.digest.replace(':', '-'));
    if (fs.existsSync(target)) {
      fs.rmSync(staging, { recursive: true, force: true }); // same bytes already in the store
    } else {
      fs.renameSync(staging, target);
    }
    const installed: InstalledPackage = {
      appId: id, version, vendor: verified.vendor, digest: verified.digest, path: target, installedAt: new Date().toISOString(),
    };
    options.installed.record(installed, verified.signers.map((s) => s.key.keyId));
    return { verified, installed, previous };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
