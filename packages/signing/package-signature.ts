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
import { readSmallFile } from '../archive/private-copy.js';
import { PackageError, type PackageErrorCodeName } from '../package-errors.js';
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
  private readonly onProgress?: (bytes: number) => void;
  /** What messages call the package (the private copy's path means nothing to an operator). */
  readonly name: string;
  /** `known`: the prehash already taken while the bytes were copied (see archive/private-copy.ts). */
  constructor(readonly file: string, options: { name?: string; onProgress?: (bytes: number) => void; known?: { blake2b512: Buffer; size: number } } = {}) {
    this.name = options.name ?? file;
    this.onProgress = options.onProgress;
    const known = options.known;
    if (known) this.prehash = Promise.resolve({ blake2b512: known.blake2b512, digest: `blake2b512:${known.blake2b512.toString('hex')}`, size: known.size });
  }
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

/** A signature as read (once) from its file; `name` is what messages call it. */
export interface SignatureText { name: string; text: string }

/** A signature that counted for nothing, and why; reported, never fatal by itself. */
export interface IgnoredSignature { signatureFile: string; code: PackageErrorCodeName; reason: string }

/** Largest signature file we read: a minisign signature is about 300 bytes. */
export const MAX_SIGNATURE_BYTES = 64 * 1024;

/** Reads each signature file once (bounded); an unreadable one is an error naming it. */
export function readSignatureFiles(files: string[]): SignatureText[] {
  return files.map((name) => ({ name, text: readSmallFile(name, MAX_SIGNATURE_BYTES).toString('utf8') }));
}

// Codes that mean "this signature does not vouch for the package": such a signature is ignored.
// Anyone who can drop a file beside the package or push a referrer can add one, so letting it fail
// the install would hand them a veto (issue 12). A binding mismatch is not among them: it is a valid
// signature by a trusted key over these very bytes that claims another id, version or vendor.
const IGNORABLE: readonly PackageErrorCodeName[] = ['BH_ERR_SIG_MALFORMED', 'BH_ERR_SIG_UNKNOWN_KEY', 'BH_ERR_SIG_REVOKED_KEY', 'BH_ERR_SIG_INVALID'];

/**
 * Checks every given signature against the package bytes and the trust store. Signatures that are
 * malformed, from an unknown or revoked key, or do not match are returned as `ignored`; whether the
 * valid ones suffice is the signature policy's decision, not this function's.
 */
export async function verifyPackageSignatures(content: PackageContent, signatures: SignatureText[], trust: TrustStore,
  schemes: readonly SignatureScheme[] = SIGNATURE_SCHEMES): Promise<{ valid: ValidSignature[]; ignored: IgnoredSignature[] }> {
  if (signatures.length === 0) {
    throw new PackageError('BH_ERR_SIG_MISSING', `${content.name}: no signature found (looked for ${content.name}.minisig and ${content.name}.*.minisig; pass --signature)`);
  }
  const valid: ValidSignature[] = [];
  const ignored: IgnoredSignature[] = [];
  for (const { name, text } of signatures) {
    try {
      const scheme = schemes.find((s) => s.handles(name, text));
      if (!scheme) throw new PackageError('BH_ERR_SIG_MALFORMED', `${name}: no known signature scheme reads it (known: ${schemes.map((s) => s.name).join(', ')})`);
      const v = await scheme.verify(name, text, content, trust);
      if (valid.some((x) => x.key.keyId === v.key.keyId)) continue; // the same key twice counts once
      valid.push(v);
    } catch (err) {
      if (err instanceof PackageError && IGNORABLE.includes(err.code)) ignored.push({ signatureFile: name, code: err.code, reason: err.message });
      else throw err;
    }
  }
  return { valid, ignored };
}
