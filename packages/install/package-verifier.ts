// The full install-time check of a package file, in the order the threat model needs: signatures
// over the raw bytes first; then the archive listing; then, and only then, the contents (margo.yaml,
// the vendor binding, the signature policy, referenced files). Leaves the verified contents in
// `staging`, which the caller moves into place or deletes.
import fs from 'node:fs';
import path from 'node:path';
import { ArchiveError, DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from '../archive/archive-limits.js';
import { checkComposeArchive } from '../archive/compose-archive.js';
import { extractArchive, inspectArchive, type ArchiveEntry } from '../archive/safe-archive.js';
import {
  ManifestError, parseApplicationDescription, referencedFiles, vendorOf, type ApplicationDescription,
} from '../manifest/application-description.js';
import { PackageError } from '../package-errors.js';
import { sha256File } from '../signing/file-digest.js';
import { verifyPackageSignatures, type ValidSignature } from '../signing/package-signature.js';
import { DEFAULT_SIGNATURE_POLICY, type SignaturePolicy } from '../trust/signature-policy.js';
import type { TrustStore } from '../trust/trust-store.js';
import { quoteValue } from '../quote-value.js';

export interface VerifyOptions {
  trust: TrustStore;
  signatureFiles: string[];
  policy?: SignaturePolicy;
  limits?: ArchiveLimits;
  /** Called as bytes are hashed, for progress display. */
  onProgress?: (bytes: number, total: number) => void;
}

export interface VerifiedPackage {
  manifest: ApplicationDescription;
  vendor: string;
  digest: string;
  size: number;
  signers: ValidSignature[];
  entries: ArchiveEntry[];
}

export async function verifyPackageInto(file: string, staging: string, options: VerifyOptions): Promise<VerifiedPackage> {
  const limits = options.limits ?? DEFAULT_ARCHIVE_LIMITS;
  const policy = options.policy ?? DEFAULT_SIGNATURE_POLICY;
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (err) {
    throw new PackageError('BH_ERR_PKG_UNREADABLE', `${file}: cannot read (${(err as NodeJS.ErrnoException).code})`);
  }
  if (size > limits.maxPackedBytes) throw new PackageError('BH_ERR_PKG_TOO_LARGE', `${file}: ${size} bytes, over the limit of ${limits.maxPackedBytes}`);

  // 1. Signatures over the raw bytes. Nothing inside the package has been looked at yet.
  const progress = options.onProgress;
  const { valid } = await verifyPackageSignatures(file, options.signatureFiles, options.trust, progress && ((n) => progress(n, size)));
  // The content digest the store and registries use; a second, cheap pass (SHA-256 is the faster hash).
  const { sha256 } = await sha256File(file);

  // 2. The archive listing, then extraction of exactly what was listed.
  let entries: ArchiveEntry[];
  try {
    entries = inspectArchive(file, limits, path.basename(file));
    extractArchive(file, staging, entries);
  } catch (err) {
    if (err instanceof ArchiveError) {
      throw new PackageError(err.limit ? 'BH_ERR_ARCHIVE_LIMIT' : 'BH_ERR_ARCHIVE_UNSAFE', err.message);
    }
    throw err;
  }

  // 3. The contents.
  const manifestPath = path.join(staging, 'margo.yaml');
  if (!entries.some((e) => e.path === 'margo.yaml' && e.type === 'file')) {
    throw new PackageError('BH_ERR_MANIFEST_INVALID', `${path.basename(file)}: no margo.yaml at the package root`);
  }
  let manifest: ApplicationDescription;
  try {
    manifest = parseApplicationDescription(fs.readFileSync(manifestPath, 'utf8'), `${path.basename(file)}:margo.yaml`);
  } catch (err) {
    if (err instanceof ManifestError) throw new PackageError('BH_ERR_MANIFEST_INVALID', err.message);
    throw err;
  }
  const vendor = vendorOf(manifest);
  for (const v of valid) {
    const b = v.binding;
    if (b && (b.id !== manifest.metadata.id || b.version !== manifest.metadata.version || b.vendor !== vendor)) {
      throw new PackageError('BH_ERR_SIG_BINDING', `${v.signatureFile}: signed for ${b.vendor}/${b.id}@${b.version}, but the package is ${vendor}/${manifest.metadata.id}@${manifest.metadata.version}`);
    }
  }
  const vendorSigners = valid.filter((v) => v.key.role === 'vendor');
  if (policy.requiredRoles.includes('vendor') && !vendorSigners.some((v) => v.key.vendor === vendor)) {
    const who = vendorSigners.map((v) => `${v.key.vendor} (key ${v.key.keyId})`).join(', ') || 'nobody in the vendor role';
    throw new PackageError('BH_ERR_SIG_WRONG_VENDOR', `package claims vendor ${quoteValue(vendor)} but is signed by ${who}`);
  }
  for (const role of policy.requiredRoles.filter((r) => r !== 'vendor')) {
    if (!valid.some((v) => v.key.role === role)) throw new PackageError('BH_ERR_SIG_POLICY', `device policy requires a signature in role ${quoteValue(role)}; none was given`);
  }
  if (valid.length < policy.minimumSignatures) {
    throw new PackageError('BH_ERR_SIG_POLICY', `device policy requires ${policy.minimumSignatures} signatures from distinct trusted keys; got ${valid.length}`);
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
        checkComposeArchive(path.join(staging, archive), c.name, `${path.basename(file)}:${archive}`, limits);
      } catch (err) {
        if (err instanceof ArchiveError) throw new PackageError('BH_ERR_COMPOSE_ARCHIVE', err.message);
        throw err;
      }
    }
  }
  return { manifest, vendor, digest: sha256, size, signers: valid, entries };
}
