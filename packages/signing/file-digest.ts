// One streaming pass over a file computing what verification needs: BLAKE2b-512 (minisign's
// prehash; identical to libsodium's crypto_generichash with a 64-byte output) and SHA-256 (the
// package digest, as OCI registries name content). Memory stays flat whatever the file size.
import { createHash } from 'node:crypto';
import fs from 'node:fs';

export interface FileDigests {
  blake2b512: Buffer;
  sha256: string;
  size: number;
}

const CHUNK = 1 << 20;

export async function digestFile(file: string, onProgress?: (bytes: number) => void): Promise<FileDigests> {
  const blake = createHash('blake2b512');
  const sha = createHash('sha256');
  let size = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: CHUNK })) {
    blake.update(chunk as Buffer);
    sha.update(chunk as Buffer);
    size += (chunk as Buffer).length;
    onProgress?.(size);
  }
  return { blake2b512: blake.digest(), sha256: `sha256:${sha.digest('hex')}`, size };
}
