// Streaming digests of a file, with flat memory whatever its size.
//
// Signature verification needs exactly one hash: BLAKE2b-512, minisign's prehash (identical to
// libsodium's crypto_generichash with a 64-byte output). Our trusted comment binds that same value,
// so verifying costs one pass of one hash. SHA-256 (the digest OCI registries and our store use)
// is a separate pass, taken only where it is needed (pack, install, push).
import { createHash } from 'node:crypto';
import fs from 'node:fs';

const CHUNK = 1 << 20;

/** Hashes a file with `algorithm`, one read always in flight so reading overlaps hashing. */
export async function hashFile(file: string, algorithm: 'blake2b512' | 'sha256', onProgress?: (bytes: number) => void): Promise<{ digest: Buffer; size: number }> {
  const handle = await fs.promises.open(file, 'r');
  const hash = createHash(algorithm);
  const read = () => {
    const buf = Buffer.allocUnsafeSlow(CHUNK);
    return handle.read(buf, 0, CHUNK, null).then((r) => buf.subarray(0, r.bytesRead));
  };
  let size = 0;
  try {
    let pending = read();
    for (;;) {
      const chunk = await pending;
      if (chunk.length === 0) break;
      pending = read();
      hash.update(chunk);
      size += chunk.length;
      onProgress?.(size);
    }
    return { digest: hash.digest(), size };
  } finally {
    await handle.close();
  }
}

/** The BLAKE2b-512 prehash minisign signs, and its text form for trusted comments. */
export async function prehashFile(file: string, onProgress?: (bytes: number) => void): Promise<{ blake2b512: Buffer; digest: string; size: number }> {
  const { digest, size } = await hashFile(file, 'blake2b512', onProgress);
  return { blake2b512: digest, digest: `blake2b512:${digest.toString('hex')}`, size };
}

/** "sha256:<hex>", the content digest registries and the package store use. */
export async function sha256File(file: string): Promise<{ sha256: string; size: number }> {
  const { digest, size } = await hashFile(file, 'sha256');
  return { sha256: `sha256:${digest.toString('hex')}`, size };
}
