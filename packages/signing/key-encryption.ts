// Password protection of minisign secret keys: scrypt (libsodium's crypto_pwhash_scryptsalsa208sha256)
// derives a stream from the password and the key file's salt, and the key material (key id, secret
// key, checksum) is XORed with it. The file stores libsodium's opslimit/memlimit, not scrypt's N, r,
// p, so both directions must turn them into N, r, p exactly as libsodium does, or a key written by
// one tool cannot be opened by the other.
import { scrypt } from 'node:crypto';

export class KeyEncryptionError extends Error {}

export interface KdfLimits { opslimit: number; memlimit: number }

/** What `minisign -G` uses (libsodium's "sensitive" limits): N = 2^20, r = 8, p = 1, 1 GiB. */
export const MINISIGN_KDF_LIMITS: KdfLimits = { opslimit: 33554432, memlimit: 1073741824 };

/** libsodium's minimum memlimit for this KDF (16 MiB); anything below it is refused when writing. */
export const MIN_KDF_MEMLIMIT = 16 * 1024 * 1024;

// A key file is input: its limits are checked before any memory or time is committed to them.
// minisign writes at most 1 GiB and 2^25 operations (a few seconds); 4x that is still allowed,
// a damaged or hostile file asking for minutes or gigabytes more is not.
const MAX_SCRYPT_MEMORY = 4 * MINISIGN_KDF_LIMITS.memlimit + 1024 * 1024;
const MAX_OPSLIMIT = 4 * MINISIGN_KDF_LIMITS.opslimit;

export interface ScryptParameters { N: number; r: number; p: number }

/**
 * libsodium's mapping from (opslimit, memlimit) to scrypt's (N, r, p) (its `pickparams`): r is 8;
 * when the operation budget is small for the memory, p is 1 and N follows the budget, else N fills
 * the memory and p takes what is left of the budget. Integer arithmetic throughout, as in C.
 */
export function scryptParameters(limits: KdfLimits): ScryptParameters {
  const ops = BigInt(Math.max(limits.opslimit, 32768));
  const mem = BigInt(limits.memlimit);
  const r = 8n;
  const smallestPowerAbove = (half: bigint): number => {
    let log2 = 1;
    while (log2 < 63 && 1n << BigInt(log2) <= half) log2++;
    return log2;
  };
  if (ops < mem / 32n) {
    const maxN = ops / (r * 4n);
    return { N: 2 ** smallestPowerAbove(maxN / 2n), r: 8, p: 1 };
  }
  const maxN = mem / (r * 128n);
  const nLog2 = smallestPowerAbove(maxN / 2n);
  let maxrp = ops / 4n / (1n << BigInt(nLog2));
  if (maxrp > 0x3fffffffn) maxrp = 0x3fffffffn;
  return { N: 2 ** nLog2, r: 8, p: Number(maxrp / r) };
}

/** Bytes scrypt needs for these parameters (OpenSSL's accounting: V plus B). */
function scryptMemory({ N, r, p }: ScryptParameters): number {
  return 128 * r * (N + 2) + 128 * r * p;
}

/** The scrypt stream that encrypts (and decrypts: XOR) `length` bytes of key material. */
export async function deriveKeyStream(password: string, salt: Buffer, limits: KdfLimits, length: number): Promise<Buffer> {
  if (!Number.isSafeInteger(limits.opslimit) || !Number.isSafeInteger(limits.memlimit) || limits.opslimit > MAX_OPSLIMIT) {
    throw new KeyEncryptionError(`key derivation limits out of range (opslimit ${limits.opslimit}, memlimit ${limits.memlimit}): a damaged key file?`);
  }
  const params = scryptParameters(limits);
  const memory = scryptMemory(params);
  if (params.p < 1 || memory > MAX_SCRYPT_MEMORY) {
    throw new KeyEncryptionError(`key derivation would need ${Math.ceil(memory / 2 ** 20)} MiB and p=${params.p} (opslimit ${limits.opslimit}, memlimit ${limits.memlimit}): a damaged key file?`);
  }
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(password, 'utf8'), salt, length, { ...params, maxmem: memory + 1024 * 1024 }, (err, key) => {
      if (err) reject(new KeyEncryptionError(`key derivation failed: ${err.message}`));
      else resolve(key);
    });
  });
}

export function xorInto(target: Buffer, stream: Buffer): void {
  for (let i = 0; i < target.length; i++) target[i]! ^= stream[i]!;
}
