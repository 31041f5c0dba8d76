// The minisign formats (public key, secret key, signature), so keys and signatures interoperate
// with the standard `minisign` tool in both directions. Signatures are Ed25519 (libsodium) over the
// BLAKE2b-512 of the file ("ED", minisign's default); legacy "Ed" signatures over the raw file are
// verified too. The trusted comment is signed along with the signature ("global signature").
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { quoteValue } from '../quote-value.js';
import { deriveKeyStream, KeyEncryptionError, MIN_KDF_MEMLIMIT, MINISIGN_KDF_LIMITS, xorInto, type KdfLimits } from './key-encryption.js';
import { sodium } from './sodium.js';

export class SignatureFormatError extends Error {}
export class SignatureVerificationError extends Error {}

export interface PublicKey {
  /** 8 bytes, as stored; shown as 16 upper-case hex digits of its little-endian value, like minisign. */
  keyId: Buffer;
  publicKey: Buffer;
}

export interface SecretKey extends PublicKey {
  /** libsodium's 64-byte Ed25519 secret key (seed || public key). */
  secretKey: Buffer;
}

export interface MinisignSignature {
  algorithm: 'ED' | 'Ed';
  keyId: Buffer;
  signature: Buffer;
  untrustedComment: string;
  trustedComment: string;
  globalSignature: Buffer;
}

export function keyIdHex(keyId: Buffer): string {
  return Buffer.from(keyId).reverse().toString('hex').toUpperCase();
}

function decodeBase64Line(line: string | undefined, what: string): Buffer {
  if (!line || !/^[A-Za-z0-9+/]+={0,2}$/.test(line.trim())) throw new SignatureFormatError(`${what}: not base64`);
  return Buffer.from(line.trim(), 'base64');
}

function lines(text: string): string[] {
  return text.replace(/\r\n/g, '\n').split('\n');
}

function comment(line: string | undefined, prefix: string, what: string): string {
  if (!line?.startsWith(prefix)) throw new SignatureFormatError(`${what}: expected a line starting with "${prefix}"`);
  return line.slice(prefix.length);
}

// ---- public keys ------------------------------------------------------------------------------

export function parsePublicKey(text: string, what = 'public key'): PublicKey {
  const all = lines(text.trim());
  // Accept both a key file (comment + base64) and the bare base64 line minisign -P takes.
  const b64 = all.length === 1 ? all[0] : (comment(all[0], 'untrusted comment:', what), all[1]);
  const raw = decodeBase64Line(b64, what);
  if (raw.length !== 42 || raw.subarray(0, 2).toString('latin1') !== 'Ed') {
    throw new SignatureFormatError(`${what}: not a minisign Ed25519 public key`);
  }
  return { keyId: raw.subarray(2, 10), publicKey: raw.subarray(10, 42) };
}

export function encodePublicKeyBase64(key: PublicKey): string {
  return Buffer.concat([Buffer.from('Ed', 'latin1'), key.keyId, key.publicKey]).toString('base64');
}

export function formatPublicKey(key: PublicKey): string {
  return `untrusted comment: minisign public key ${keyIdHex(key.keyId)}\n${encodePublicKeyBase64(key)}\n`;
}

// ---- secret keys ------------------------------------------------------------------------------

const KDF_NONE = Buffer.from([0, 0]);
const KDF_SCRYPT = Buffer.from('Sc', 'latin1');
const SECRET_KEY_BYTES = 158;

function decodeSecretKey(text: string, what: string): Buffer {
  const all = lines(text.trim());
  comment(all[0], 'untrusted comment:', what);
  const raw = decodeBase64Line(all[1], what);
  if (raw.length !== SECRET_KEY_BYTES || raw.subarray(0, 2).toString('latin1') !== 'Ed' || raw.subarray(4, 6).toString('latin1') !== 'B2') {
    throw new SignatureFormatError(`${what}: not a minisign Ed25519 secret key`);
  }
  return raw;
}

/** Whether a secret key file is password-protected (so the caller knows to ask for one). */
export function secretKeyIsEncrypted(text: string, what = 'secret key'): boolean {
  return decodeSecretKey(text, what).subarray(2, 4).equals(KDF_SCRYPT);
}

/** BLAKE2b-256 over the algorithm, key id and secret key: how minisign detects a wrong password. */
async function keyChecksum(keyId: Buffer, secretKey: Buffer): Promise<Buffer> {
  const s = await sodium();
  return Buffer.from(s.crypto_generichash(32, Buffer.concat([Buffer.from('Ed', 'latin1'), keyId, secretKey]), null));
}

export async function parseSecretKey(text: string, password?: string, what = 'secret key'): Promise<SecretKey> {
  const raw = decodeSecretKey(text, what);
  const kdf = raw.subarray(2, 4);
  const salt = raw.subarray(6, 38);
  const keynum = Buffer.from(raw.subarray(54, 158));
  if (kdf.equals(KDF_SCRYPT)) {
    if (password === undefined) throw new SignatureFormatError(`${what}: is password-protected and no password was given`);
    // Limits above 2^53 cannot be meant; deriveKeyStream refuses them by name.
    const limits = { opslimit: Number(raw.readBigUInt64LE(38)), memlimit: Number(raw.readBigUInt64LE(46)) };
    try {
      xorInto(keynum, await deriveKeyStream(password, salt, limits, keynum.length));
    } catch (err) {
      if (err instanceof KeyEncryptionError) throw new SignatureFormatError(`${what}: ${err.message}`);
      throw err;
    }
  } else if (!kdf.equals(KDF_NONE)) {
    throw new SignatureFormatError(`${what}: unknown key derivation ${quoteValue(kdf.toString('latin1'))}`);
  }
  const keyId = keynum.subarray(0, 8);
  const secretKey = keynum.subarray(8, 72);
  const checksum = keynum.subarray(72, 104);
  // `minisign -G -W` leaves the checksum zero: it only exists to detect a wrong password.
  const unsetChecksum = kdf.equals(KDF_NONE) && checksum.every((b) => b === 0);
  if (!unsetChecksum && !(await keyChecksum(keyId, secretKey)).equals(checksum)) {
    throw new SignatureFormatError(kdf.equals(KDF_SCRYPT) ? `${what}: wrong password (or a damaged key file)` : `${what}: checksum mismatch (a damaged key file)`);
  }
  return { keyId: Buffer.from(keyId), secretKey: Buffer.from(secretKey), publicKey: Buffer.from(secretKey.subarray(32, 64)) };
}

export interface SecretKeyEncryption { password: string; limits?: KdfLimits }

/**
 * A secret key file as `minisign -G` writes it: encrypted with the password (minisign's KDF limits
 * unless others are given), or unencrypted (as `minisign -G -W`) without one. Store it with mode 0600.
 */
export async function formatSecretKey(key: SecretKey, encryption?: SecretKeyEncryption): Promise<string> {
  const keynum = Buffer.concat([key.keyId, key.secretKey, await keyChecksum(key.keyId, key.secretKey)]);
  const salt = Buffer.alloc(32);
  const limitBytes = Buffer.alloc(16);
  if (encryption) {
    const limits = encryption.limits ?? MINISIGN_KDF_LIMITS;
    if (limits.memlimit < MIN_KDF_MEMLIMIT) throw new SignatureFormatError(`key derivation memlimit ${limits.memlimit} is below libsodium's minimum of ${MIN_KDF_MEMLIMIT}`);
    salt.set(randomBytes(32));
    limitBytes.writeBigUInt64LE(BigInt(limits.opslimit), 0);
    limitBytes.writeBigUInt64LE(BigInt(limits.memlimit), 8);
    xorInto(keynum, await deriveKeyStream(encryption.password, salt, limits, keynum.length));
  }
  const raw = Buffer.concat([Buffer.from('Ed', 'latin1'), encryption ? KDF_SCRYPT : KDF_NONE, Buffer.from('B2', 'latin1'), salt, limitBytes, keynum]);
  return `untrusted comment: minisign ${encryption ? 'encrypted secret key' : 'secret key (unencrypted)'}\n${raw.toString('base64')}\n`;
}

export async function generateKeyPair(): Promise<SecretKey> {
  const s = await sodium();
  const pair = s.crypto_sign_keypair();
  return {
    keyId: Buffer.from(s.randombytes_buf(8)),
    publicKey: Buffer.from(pair.publicKey),
    secretKey: Buffer.from(pair.privateKey),
  };
}

// ---- signatures -------------------------------------------------------------------------------

export function parseSignature(text: string, what = 'signature'): MinisignSignature {
  const all = lines(text);
  const untrustedComment = comment(all[0], 'untrusted comment: ', what);
  const raw = decodeBase64Line(all[1], what);
  const trustedComment = comment(all[2], 'trusted comment: ', what);
  const globalSignature = decodeBase64Line(all[3], what);
  const algorithm = raw.subarray(0, 2).toString('latin1');
  if (raw.length !== 74 || (algorithm !== 'ED' && algorithm !== 'Ed')) throw new SignatureFormatError(`${what}: not a minisign Ed25519 signature`);
  if (globalSignature.length !== 64) throw new SignatureFormatError(`${what}: global signature has the wrong length`);
  return {
    algorithm: algorithm as 'ED' | 'Ed', keyId: raw.subarray(2, 10), signature: raw.subarray(10, 74),
    untrustedComment, trustedComment, globalSignature,
  };
}

export function formatSignature(sig: MinisignSignature): string {
  const raw = Buffer.concat([Buffer.from(sig.algorithm, 'latin1'), sig.keyId, sig.signature]);
  return `untrusted comment: ${sig.untrustedComment}\n${raw.toString('base64')}\ntrusted comment: ${sig.trustedComment}\n${sig.globalSignature.toString('base64')}\n`;
}

/** Signs a file given its BLAKE2b-512 prehash ("ED"). */
export async function signPrehashed(key: SecretKey, blake2b512: Buffer, trustedComment: string, untrustedComment: string): Promise<MinisignSignature> {
  if (trustedComment.includes('\n')) throw new SignatureFormatError('trusted comment must be one line');
  const s = await sodium();
  const signature = Buffer.from(s.crypto_sign_detached(blake2b512, key.secretKey));
  const globalSignature = Buffer.from(s.crypto_sign_detached(Buffer.concat([signature, Buffer.from(trustedComment, 'utf8')]), key.secretKey));
  return { algorithm: 'ED', keyId: key.keyId, signature, untrustedComment, trustedComment, globalSignature };
}

/**
 * Verifies a signature against a public key. `content` supplies the prehash for "ED" signatures,
 * or the whole file for legacy "Ed" ones. Throws SignatureVerificationError saying what failed.
 */
export async function verifySignature(sig: MinisignSignature, key: PublicKey, content: { blake2b512: Buffer; file?: string }): Promise<void> {
  if (!sig.keyId.equals(key.keyId)) {
    throw new SignatureVerificationError(`signed with key ${keyIdHex(sig.keyId)}, not ${keyIdHex(key.keyId)}`);
  }
  const s = await sodium();
  const message = sig.algorithm === 'ED' ? content.blake2b512 : content.file ? fs.readFileSync(content.file) : undefined;
  if (!message) throw new SignatureVerificationError('legacy (non-prehashed) signature needs the whole file');
  if (!s.crypto_sign_verify_detached(sig.signature, message, key.publicKey)) {
    throw new SignatureVerificationError('signature does not match the content (the file was changed or the signature is for another file)');
  }
  const global = Buffer.concat([sig.signature, Buffer.from(sig.trustedComment, 'utf8')]);
  if (!s.crypto_sign_verify_detached(sig.globalSignature, global, key.publicKey)) {
    throw new SignatureVerificationError('trusted comment was altered');
  }
}
