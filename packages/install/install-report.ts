// What an install reports, one shape for `bulkhead install --json` on the device and for the
// management API's POST /v1/packages (which the CLI prints the same way when it goes through it).
import type { IgnoredSignature } from '../signing/package-signature.js';
import type { InstallResult } from './package-installer.js';

export interface InstallReport {
  appId: string;
  version: string;
  vendor: string;
  digest: string;
  /** Where the package is unpacked on the device. */
  path: string;
  installedAt: string;
  previousVersion: string | null;
  transferredFrom: string | null;
  signers: { keyId: string; vendor: string; role: string }[];
  ignoredSignatures: IgnoredSignature[];
}

export function installReport(r: InstallResult): InstallReport {
  const i = r.installed;
  return {
    appId: i.appId, version: i.version, vendor: i.vendor, digest: i.digest, path: i.path, installedAt: i.installedAt,
    previousVersion: r.previous?.version ?? null, transferredFrom: r.transferredFrom ?? null,
    signers: r.verified.signers.map((s) => ({ keyId: s.key.keyId, vendor: s.key.vendor, role: s.key.role })),
    ignoredSignatures: r.verified.ignoredSignatures,
  };
}

/** The lines `bulkhead install` prints for a person. */
export function installReportText(r: InstallReport): string {
  return [
    `installed ${r.appId} ${r.version} from ${r.vendor}${r.previousVersion ? ` (was ${r.previousVersion})` : ''}${r.transferredFrom ? ` (app id transferred from ${r.transferredFrom})` : ''}`,
    ...r.ignoredSignatures.map((i) => `  ignored signature: ${i.reason} [${i.code}]`),
  ].join('\n');
}
