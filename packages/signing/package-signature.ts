// Detached minisign signatures over a package file. Our trusted comment binds the package's id,
// version, vendor and digest (the BLAKE2b-512 prehash the signature covers, so checking the binding
// costs no second hash), so a signature cannot be moved to another package or version.
// Signatures made by plain `minisign -S` (any trusted comment) are accepted too: the signature still
// covers every byte, and id/version/vendor then come from the verified margo.yaml alone.
import fs from 'node:fs';
import { prehashFile } from './file-digest.js';
import {
  formatSignature, keyIdHex, parseSignature, signPrehashed, SignatureFormatError, SignatureVerificationError,
  verifySignature, type SecretKey,
} from './minisign.js';
import { PackageError } from '../package-errors.js';
import type { TrustStore, TrustedKey } from '../trust/trust-store.js';

const PREFIX = 'bulkhead-package ';

export interface PackageBinding { id: string; version: string; vendor: string; digest: string; timestamp?: number }

export function formatTrustedComment(b: PackageBinding): string {
  const ts = b.timestamp ?? Math.floor(Date.now() / 1000);
  return `${PREFIX}id=${b.id} version=${b.version} vendor=${encodeURIComponent(b.vendor)} digest=${b.digest} timestamp=${ts}`;
}

/** Our binding, or undefined for a comment some other tool wrote. */
export function parseTrustedComment(comment: string): PackageBinding | undefined {
  if (!comment.startsWith(PREFIX)) return undefined;
  const fields = Object.fromEntries(comment.slice(PREFIX.length).split(' ').map((kv) => {
    const eq = kv.indexOf('=');
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  }));
  if (!fields.id || !fields.version || !fields.vendor || !fields.digest) return undefined;
  return { id: fields.id, version: fields.version, vendor: decodeURIComponent(fields.vendor), digest: fields.digest, timestamp: Number(fields.timestamp) };
}

export async function signPackageFile(file: string, key: SecretKey, binding: Omit<PackageBinding, 'digest'>, output: string): Promise<PackageBinding> {
  const prehash = await prehashFile(file);
  const full = { ...binding, digest: prehash.digest };
  const sig = await signPrehashed(key, prehash.blake2b512, formatTrustedComment(full), `signature from bulkhead secret key ${keyIdHex(key.keyId)}`);
  fs.writeFileSync(output, formatSignature(sig));
  return full;
}

export interface ValidSignature {
  signatureFile: string;
  key: TrustedKey;
  binding?: PackageBinding;
  trustedComment: string;
}

/** Signature files that sit next to a package: PKG.minisig and PKG.<anything>.minisig. */
export function defaultSignatureFiles(pkg: string): string[] {
  const dir = pkg.includes('/') ? pkg.slice(0, pkg.lastIndexOf('/')) : '.';
  const base = pkg.slice(pkg.lastIndexOf('/') + 1);
  let names: string[] = [];
  try { names = fs.readdirSync(dir); } catch { return []; }
  return names.filter((n) => n === `${base}.minisig` || (n.startsWith(`${base}.`) && n.endsWith('.minisig')))
    .sort().map((n) => (dir === '.' && !pkg.includes('/') ? n : `${dir}/${n}`));
}

/** What schemes share about the package being verified: digests computed at most once. */
export class PackageContent {
  private prehash: ReturnType<typeof prehashFile> | undefined;
  constructor(readonly file: string, private readonly onProgress?: (bytes: number) => void) {}
  /** BLAKE2b-512 of the file (minisign's prehash), computed on first use. */
  blake2b512(): ReturnType<typeof prehashFile> {
    this.prehash ??= prehashFile(this.file, this.onProgress);
    return this.prehash;
  }
}

/**
 * A way of signing packages. Verification is pluggable: minisign is the one we ship; Margo's
 * draft Notary Project scheme (X.509, COSE/JWS envelopes) would be another implementation.
 */
export interface SignatureScheme {
  name: string;
  /** Whether this scheme reads this signature file. */
  handles(signatureFile: string, text: string): boolean;
  /** Verifies one signature over the package, or throws a PackageError saying why not. */
  verify(signatureFile: string, text: string, content: PackageContent, trust: TrustStore): Promise<ValidSignature>;
}

export const minisignScheme: SignatureScheme = {
  name: 'minisign',
  handles: (signatureFile, text) => signatureFile.endsWith('.minisig') || text.startsWith('untrusted comment:'),
  async verify(sigFile, text, content, trust) {
    let sig;
    try {
      sig = parseSignature(text, sigFile);
    } catch (err) {
      if (err instanceof SignatureFormatError) throw new PackageError('BH_ERR_SIG_MALFORMED', err.message);
      throw err;
    }
    const id = keyIdHex(sig.keyId);
    const entry = trust.get(id);
    if (!entry) throw new PackageError('BH_ERR_SIG_UNKNOWN_KEY', `${sigFile}: signed by key ${id}, which is not in the trust store (bulkhead trust add)`);
    if (entry.revokedAt) {
      throw new PackageError('BH_ERR_SIG_REVOKED_KEY', `${sigFile}: signed by key ${id} of ${entry.vendor}, revoked on ${entry.revokedAt}${entry.revokeReason ? ` (${entry.revokeReason})` : ''}`);
    }
    const prehash = await content.blake2b512();
    try {
      await verifySignature(sig, trust.publicKeyOf(entry), { blake2b512: prehash.blake2b512, file: content.file });
    } catch (err) {
      if (err instanceof SignatureVerificationError) throw new PackageError('BH_ERR_SIG_INVALID', `${sigFile}: ${err.message}`);
      throw err;
    }
    const binding = parseTrustedComment(sig.trustedComment);
    if (binding && binding.digest !== prehash.digest) {
      throw new PackageError('BH_ERR_SIG_BINDING', `${sigFile}: signed for digest ${binding.digest}, but the package is ${prehash.digest}`);
    }
    return { signatureFile: sigFile, key: entry, binding, trustedComment: sig.trustedComment };
  },
};

export const SIGNATURE_SCHEMES: readonly SignatureScheme[] = [minisignScheme];

/**
 * Checks every given signature against the package bytes and the trust store. Any signature that
 * is malformed, from an unknown or revoked key, or does not match, fails the whole check.
 */
export async function verifyPackageSignatures(file: string, signatureFiles: string[], trust: TrustStore,
  onProgress?: (bytes: number) => void, schemes: readonly SignatureScheme[] = SIGNATURE_SCHEMES): Promise<{ valid: ValidSignature[] }> {
  if (signatureFiles.length === 0) {
    throw new PackageError('BH_ERR_SIG_MISSING', `${file}: no signature found (looked for ${file}.minisig and ${file}.*.minisig; pass --signature)`);
  }
  const content = new PackageContent(file, onProgress);
  const valid: ValidSignature[] = [];
  for (const sigFile of signatureFiles) {
    let text: string;
    try {
      text = fs.readFileSync(sigFile, 'utf8');
    } catch (err) {
      throw new PackageError('BH_ERR_PKG_UNREADABLE', `${sigFile}: cannot read (${(err as NodeJS.ErrnoException).code})`);
    }
    const scheme = schemes.find((s) => s.handles(sigFile, text));
    if (!scheme) throw new PackageError('BH_ERR_SIG_MALFORMED', `${sigFile}: no known signature scheme reads it (known: ${schemes.map((s) => s.name).join(', ')})`);
    const v = await scheme.verify(sigFile, text, content, trust);
    if (valid.some((x) => x.key.keyId === v.key.keyId)) continue; // the same key twice counts once
    valid.push(v);
  }
  return { valid };
}
