// Reading a package's bytes exactly once. The file an operator names may be replaced while we work
// (issue 12: swapping it between the signature check and the extraction installed unsigned code),
// so it is opened once, copied through that descriptor into a file only we can reach, hashed on
// the way and synced: signatures, listing, extraction and the store name then all read that copy.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { PackageError } from '../package-errors.js';

export interface PrivateCopy {
  /** The private copy; the only file later steps read. */
  file: string;
  size: number;
  /** "sha256:<hex>": the content digest registries and the package store use. */
  sha256: string;
  /** BLAKE2b-512 of the bytes: minisign's prehash, which the signatures cover. */
  blake2b512: Buffer;
}

const CHUNK = 1 << 20;

/**
 * Copies `source` into `dest` (created here, exclusively, mode 0600) through one descriptor,
 * refusing more than `maxBytes` even if the file grows while it is read, and returns both digests
 * of exactly the bytes written.
 */
export async function copyToPrivateFile(source: string, dest: string, maxBytes: number, onProgress?: (bytes: number) => void): Promise<PrivateCopy> {
  let input: fs.promises.FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is then refused as not a file.
    input = await fs.promises.open(source, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw new PackageError('BH_ERR_PKG_UNREADABLE', `${source}: cannot read (${(err as NodeJS.ErrnoException).code})`);
  }
  let output: fs.promises.FileHandle | undefined;
  try {
    const st = await input.stat();
    if (!st.isFile()) throw new PackageError('BH_ERR_PKG_UNREADABLE', `${source}: not a regular file`);
    if (st.size > maxBytes) throw new PackageError('BH_ERR_PKG_TOO_LARGE', `${source}: ${st.size} bytes, over the limit of ${maxBytes}`);
    output = await fs.promises.open(dest, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    const sha256 = createHash('sha256');
    const blake = createHash('blake2b512');
    let size = 0;
    const read = () => {
      const buf = Buffer.allocUnsafeSlow(CHUNK);
      return input.read(buf, 0, CHUNK, null).then((r) => buf.subarray(0, r.bytesRead));
    };
    let pending = read();
    for (;;) {
      const chunk = await pending;
      if (chunk.length === 0) break;
      size += chunk.length;
      if (size > maxBytes) throw new PackageError('BH_ERR_PKG_TOO_LARGE', `${source}: grew past the limit of ${maxBytes} bytes while being read`);
      pending = read();
      sha256.update(chunk);
      blake.update(chunk);
      await output.write(chunk);
      onProgress?.(size);
    }
    await output.sync();
    return { file: dest, size, sha256: `sha256:${sha256.digest('hex')}`, blake2b512: blake.digest() };
  } finally {
    await input.close();
    await output?.close();
  }
}

/** Reads a small file (a signature) once, through one descriptor, refusing more than `maxBytes`. */
export function readSmallFile(file: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw new PackageError('BH_ERR_PKG_UNREADABLE', `${file}: cannot read (${(err as NodeJS.ErrnoException).code})`);
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new PackageError('BH_ERR_PKG_UNREADABLE', `${file}: not a regular file`);
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    for (;;) {
      const r = fs.readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > maxBytes) throw new PackageError('BH_ERR_PKG_UNREADABLE', `${file}: over ${maxBytes} bytes; not a signature file`);
    }
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}
