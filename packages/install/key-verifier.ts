// Verifying a package against one public key given by the person checking (what `minisign -V -p`
// does), for vendors checking their own work on a machine with no device trust store. Everything
// install checks runs (signature, binding, archive, manifest, referenced files) except what needs a
// device: the trust store's vendor for the key, and the device's signature policy.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import type { ArchiveLimits } from '../archive/archive-limits.js';
import { PackageError } from '../package-errors.js';
import { encodePublicKeyBase64, keyIdHex, parseSignature, SignatureFormatError, type PublicKey } from '../signing/minisign.js';
import { TrustStore } from '../trust/trust-store.js';
import { verifyPackageInto, type VerifiedPackage } from './package-verifier.js';

/** Signature files are a few hundred bytes; anything much larger is not one. */
const MAX_SIGNATURE_BYTES = 64 * 1024;

/** What the given key's holder is called in reports: the key has no vendor without a trust store. */
export const GIVEN_KEY_VENDOR = 'the given public key';

export interface KeyVerification {
  verified: VerifiedPackage;
  keyId: string;
  /** Signature files made by other keys: not checked, listed so the caller can say so. */
  otherSignatures: { file: string; keyId: string }[];
}

function readSignatureText(file: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new PackageError('BH_ERR_PKG_UNREADABLE', `${file}: cannot read (${(err as NodeJS.ErrnoException).code})`);
  }
  try {
    const buf = Buffer.alloc(MAX_SIGNATURE_BYTES + 1);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    if (n > MAX_SIGNATURE_BYTES) throw new PackageError('BH_ERR_SIG_MALFORMED', `${file}: over ${MAX_SIGNATURE_BYTES} bytes, not a minisign signature`);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

export async function verifyPackageWithKey(file: string, staging: string, key: PublicKey, signatureFiles: string[], limits?: ArchiveLimits): Promise<KeyVerification> {
  const keyId = keyIdHex(key.keyId);
  const mine: string[] = [];
  const otherSignatures: KeyVerification['otherSignatures'] = [];
  for (const sigFile of signatureFiles) {
    let signer: string;
    try {
      signer = keyIdHex(parseSignature(readSignatureText(sigFile), sigFile).keyId);
    } catch (err) {
      if (err instanceof SignatureFormatError) throw new PackageError('BH_ERR_SIG_MALFORMED', err.message);
      throw err;
    }
    if (signer === keyId) mine.push(sigFile);
    else otherSignatures.push({ file: sigFile, keyId: signer });
  }
  if (mine.length === 0) {
    const seen = otherSignatures.map((s) => `${s.file} by key ${s.keyId}`).join(', ');
    throw new PackageError('BH_ERR_SIG_MISSING', `${file}: no signature by key ${keyId}${seen ? ` (found ${seen})` : ` (looked for ${file}.minisig and ${file}.*.minisig; pass -x)`}`);
  }
  // A trust store of one key, in memory: the device's store is neither needed nor touched.
  const db = new Database(':memory:');
  try {
    const trust = new TrustStore(db);
    trust.add(encodePublicKeyBase64(key), GIVEN_KEY_VENDOR, 'vendor');
    const verified = await verifyPackageInto(file, staging, {
      trust, signatureFiles: mine, limits,
      // No roles: the key's vendor is unknown here, so margo.yaml's vendor cannot be checked against it.
      policy: { requiredRoles: [], minimumSignatures: 1 },
    });
    return { verified, keyId, otherSignatures };
  } finally {
    db.close();
  }
}
