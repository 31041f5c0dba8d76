// `bulkhead install`: copy the package once into a private staging directory and verify that copy,
// check the app id's owner and version monotonicity, sync the unpacked files, move them into the
// content-addressed store with one rename, sync the directories, then record it in one
// transaction. A failure at any step leaves the previously installed version in place and removes
// the staging directory; a kill leaves only staging debris, which the next install or daemon start
// removes, and never a database row pointing at files that are not (durably) there.
import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { PackageError } from '../package-errors.js';
import { checkAppOwnership } from './app-ownership.js';
import { syncDirectories, syncTree } from './durable-tree.js';
import { InstalledPackages, storePathOf, type InstalledPackage } from './installed-packages.js';
import { verifyPackageInto, type VerifiedPackage, type VerifyOptions } from './package-verifier.js';
import { createStagingDir } from './staging-area.js';

export interface InstallOptions extends VerifyOptions {
  dataDir: string;
  installed: InstalledPackages;
  /** Permit installing a version lower than or equal to the installed one. */
  allowDowngrade?: boolean;
  /** Hand the app id over from this vendor (exactly as the current owner is recorded). */
  transferFrom?: string;
  /**
   * Runs on the verified, still-staged package before anything is committed; throwing aborts the
   * install with nothing changed (the runtime prepares wasm components here).
   */
  beforeCommit?: (verified: VerifiedPackage, stagedDir: string) => Promise<void>;
}

export interface InstallResult { verified: VerifiedPackage; installed: InstalledPackage; previous?: InstalledPackage; transferredFrom?: string }

/**
 * Test hook for crash tests: BULKHEAD_TEST_CRASH_AT=<point> kills this process with SIGKILL there,
 * as a power cut or `kill -9` would. Points: after-copy, before-rename, after-rename.
 */
function crashPoint(point: string): void {
  if (process.env.BULKHEAD_TEST_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}

function checkVersion(id: string, version: string, previous: InstalledPackage | undefined, allowDowngrade: boolean | undefined): void {
  if (previous && !allowDowngrade && !semver.gt(version, previous.version)) {
    throw new PackageError('BH_ERR_ROLLBACK', `${id} ${version} is not newer than the installed ${previous.version}; pass --allow-downgrade to install it anyway`);
  }
}

export async function installPackage(file: string, options: InstallOptions): Promise<InstallResult> {
  const storeRoot = path.join(options.dataDir, 'packages');
  fs.mkdirSync(storeRoot, { recursive: true, mode: 0o755 });
  const staging = createStagingDir(options.dataDir);
  try {
    const verified = await verifyPackageInto(file, staging, {
      ...options,
      onStage: async (stage) => {
        if (stage === 'copied') crashPoint('after-copy');
        await options.onStage?.(stage);
      },
    });
    const { id, version } = verified.manifest.metadata;
    // Early checks, before the (slow) component preparation; record() repeats both atomically.
    const owner = options.installed.owner(id);
    checkAppOwnership(id, verified.vendor, owner, options.transferFrom);
    const previous = options.installed.get(id);
    checkVersion(id, version, previous, options.allowDowngrade);
    await options.beforeCommit?.(verified, verified.contentDir);

    const target = path.join(options.dataDir, storePathOf(verified.digest));
    if (!fs.existsSync(target)) {
      // Same bytes already in the store otherwise: that copy was synced before its rename.
      syncTree(verified.contentDir);
      crashPoint('before-rename');
      fs.renameSync(verified.contentDir, target);
      syncDirectories(storeRoot, options.dataDir);
      crashPoint('after-rename');
    }
    const installedAt = new Date().toISOString();
    options.installed.record({ appId: id, version, vendor: verified.vendor, digest: verified.digest, installedAt },
      verified.signers.map((s) => s.key.keyId),
      { transferFrom: options.transferFrom, check: (current) => checkVersion(id, version, current, options.allowDowngrade) });
    const transferred = owner && owner.vendor !== verified.vendor ? owner.vendor : undefined;
    return { verified, installed: options.installed.get(id)!, previous, transferredFrom: transferred };
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
