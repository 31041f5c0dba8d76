// The full install-time check of a package file, in the order the threat model needs: the bytes are
// copied once into private staging; signatures over that copy first; then its archive listing;
// then, and only then, the contents (margo.yaml, the vendor binding, the signature policy,
// referenced files). Leaves the verified contents in `<staging>/content`, which the caller moves
// into place or deletes with the rest of the staging directory.
import fs from 'node:fs';
import path from 'node:path';
import { ArchiveError, DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from '../archive/archive-limits.js';
import { checkComposeArchive } from '../archive/compose-archive.js';
import { copyToPrivateFile } from '../archive/private-copy.js';
import { extractArchive, inspectArchive, type ArchiveEntry } from '../archive/safe-archive.js';
import {
  ManifestError, parseApplicationDescription, referencedFiles, vendorOf, type ApplicationDescription,
} from '../manifest/application-description.js';
import { DEFAULT_MANIFEST_LIMITS, type ManifestLimits } from '../manifest/manifest-limits.js';
import { PackageError } from '../package-errors.js';
import {
  PackageContent, readSignatureFiles, verifyPackageSignatures, type IgnoredSignature, type ValidSignature,
} from '../signing/package-signature.js';
import { DEFAULT_SIGNATURE_POLICY, type SignaturePolicy } from '../trust/signature-policy.js';
import type { TrustStore } from '../trust/trust-store.js';
import { quoteValue } from '../quote-value.js';

/** Points a verification passes, in order; `onStage` sees each (progress, and tests that race it). */
export type VerifyStage = 'copied' | 'signatures-checked' | 'extracted';

export interface VerifyOptions {
  trust: TrustStore;
  signatureFiles: string[];
  policy?: SignaturePolicy;
  limits?: ArchiveLimits;
  manifestLimits?: ManifestLimits;
  /** Called as bytes are copied and hashed, for progress display. */
  onProgress?: (bytes: number, total: number) => void;
  onStage?: (stage: VerifyStage) => void | Promise<void>;
}

export interface VerifiedPackage {
  manifest: ApplicationDescription;
  vendor: string;
  digest: string;
  size: number;
  signers: ValidSignature[];
  /** Signatures that counted for nothing (unknown or revoked key, not matching, malformed). */
  ignoredSignatures: IgnoredSignature[];
  entries: ArchiveEntry[];
  /** The verified, extracted contents (inside the staging directory). */
  contentDir: string;
}

/** `staging` must be a directory only this process uses (it is created 0700 if missing). */
export async function verifyPackageInto(file: string, staging: string, options: VerifyOptions): Promise<VerifiedPackage> {
  const limits = options.limits ?? DEFAULT_ARCHIVE_LIMITS;
  const policy = options.policy ?? DEFAULT_SIGNATURE_POLICY;
  const name = path.basename(file);
  fs.mkdirSync(staging, { recursive: true, mode: 0o700 });

  // 0. The bytes, once. Everything below reads only the private copy and these signature texts.
  const progress = options.onProgress;
  let total = 0;
  try { total = fs.statSync(file).size; } catch { /* the copy reports it */ }
  const copy = await copyToPrivateFile(file, path.join(staging, 'package.bhpkg'), limits.maxPackedBytes, progress && ((n) => progress(n, total)));
  const signatures = readSignatureFiles(options.signatureFiles);
  await options.onStage?.('copied');

  // 1. Signatures over the raw bytes. Nothing inside the package has been looked at yet.
  const content = new PackageContent(copy.file, { name: file, known: copy });
  const { valid, ignored } = await verifyPackageSignatures(content, signatures, options.trust);
  if (valid.length === 0) {
    // Nothing vouches for the package: say why the most specific way (the first ignored signature).
    const first = ignored[0]!;
    const others = ignored.length > 1 ? ` (and ${ignored.length - 1} other signature(s) ignored)` : '';
    throw new PackageError(first.code, `${first.reason}${others}`);
  }
  await options.onStage?.('signatures-checked');

  // 2. The archive listing, then extraction of exactly what was listed.
  const contentDir = path.join(staging, 'content');
  let entries: ArchiveEntry[];
  const archiveError = (err: unknown) => (err instanceof ArchiveError
    ? new PackageError(err.limit ? 'BH_ERR_ARCHIVE_LIMIT' : 'BH_ERR_ARCHIVE_UNSAFE', err.message) : err);
  try {
    entries = inspectArchive(copy.file, limits, name);
  } catch (err) {
    throw archiveError(err);
  }
  // margo.yaml's size is known from the listing: refuse an oversized one before writing it out.
  const manifestLimits = options.manifestLimits ?? DEFAULT_MANIFEST_LIMITS;
  const manifestEntry = entries.find((e) => e.path === 'margo.yaml' && e.type === 'file');
  if (!manifestEntry) throw new PackageError('BH_ERR_MANIFEST_INVALID', `${name}: no margo.yaml at the package root`);
  if (manifestEntry.size > manifestLimits.maxBytes) {
    throw new PackageError('BH_ERR_MANIFEST_LIMIT', `${name}:margo.yaml is ${manifestEntry.size} bytes, over the limit of ${manifestLimits.maxBytes} (manifest.maxBytes in the device policy); not parsed`);
  }
  try {
    extractArchive(copy.file, contentDir, entries);
  } catch (err) {
    throw archiveError(err);
  }
  await options.onStage?.('extracted');

  // 3. The contents.
  let manifest: ApplicationDescription;
  try {
    manifest = parseApplicationDescription(fs.readFileSync(path.join(contentDir, 'margo.yaml'), 'utf8'), `${name}:margo.yaml`, manifestLimits);
  } catch (err) {
    if (err instanceof ManifestError) throw new PackageError(err.limit ? 'BH_ERR_MANIFEST_LIMIT' : 'BH_ERR_MANIFEST_INVALID', err.message);
    throw err;
  }
  const vendor = vendorOf(manifest);
  for (const v of valid) {
    const b = v.binding;
    if (b && (b.id !== manifest.metadata.id || b.version !== manifest.metadata.version || b.vendor !== vendor)) {
      throw new PackageError('BH_ERR_SIG_BINDING', `${v.signatureFile}: signed for ${b.vendor}/${b.id}@${b.version}, but the package is ${vendor}/${manifest.metadata.id}@${manifest.metadata.version}`);
    }
  }
  const ignoredNote = ignored.length ? ` (${ignored.length} signature(s) ignored: ${ignored.map((i) => i.reason).join('; ')})` : '';
  const vendorSigners = valid.filter((v) => v.key.role === 'vendor');
  if (policy.requiredRoles.includes('vendor') && !vendorSigners.some((v) => v.key.vendor === vendor)) {
    const who = vendorSigners.map((v) => `${v.key.vendor} (key ${v.key.keyId})`).join(', ') || 'nobody in the vendor role';
    throw new PackageError('BH_ERR_SIG_WRONG_VENDOR', `package claims vendor ${quoteValue(vendor)} but is signed by ${who}${ignoredNote}`);
  }
  for (const role of policy.requiredRoles.filter((r) => r !== 'vendor')) {
    if (!valid.some((v) => v.key.role === role)) throw new PackageError('BH_ERR_SIG_POLICY', `device policy requires a signature in role ${quoteValue(role)}; none was given${ignoredNote}`);
  }
  if (valid.length < policy.minimumSignatures) {
    throw new PackageError('BH_ERR_SIG_POLICY', `device policy requires ${policy.minimumSignatures} signatures from distinct trusted keys; got ${valid.length}${ignoredNote}`);
  }
  const present = new Set(entries.filter((e) => e.type === 'file').map((e) => e.path));
  for (const ref of referencedFiles(manifest)) {
    if (!present.has(path.posix.normalize(ref))) throw new PackageError('BH_ERR_MANIFEST_FILE_MISSING', `margo.yaml refers to ${quoteValue(ref)}, which is not in the package`);
  }
  for (const profile of manifest.deploymentProfiles.filter((p) => p.type === 'compose')) {
    for (const c of profile.components) {
      const archive = (c.properties as { archive?: string } | undefined)?.archive;
      if (!archive) continue;
      try {
        checkComposeArchive(path.join(contentDir, archive), c.name, `${name}:${archive}`, limits);
      } catch (err) {
        if (err instanceof ArchiveError) throw new PackageError('BH_ERR_COMPOSE_ARCHIVE', err.message);
        throw err;
      }
    }
  }
  return { manifest, vendor, digest: copy.sha256, size: copy.size, signers: valid, ignoredSignatures: ignored, entries, contentDir };
}
