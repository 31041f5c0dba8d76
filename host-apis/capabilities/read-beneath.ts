// Reading a file beneath a root without following a link: for files a package names by relative
// path (a Compose file's env_file, extends, include). Every directory on the way is opened
// relative to its parent with O_NOFOLLOW (directory-handle.ts), and the file itself with
// O_NOFOLLOW relative to the last one, then read through that fd: what is read is what was
// checked, and a symlink anywhere on the way is refused, whatever it points at.
import fs from 'node:fs';
import path from 'node:path';
import { openDirectoryBeneath, OutsideRootError } from './directory-handle.js';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = fs.constants;

/**
 * The bytes of `relative` (a relative path with "/" separators) beneath `rootPath`, at most
 * `maxBytes`. Throws OutsideRootError for an absolute path, `..` above the root, a symlink on the
 * way or at the end, or something that is no regular file; ENOENT as Node's error.
 */
export function readFileBeneath(rootPath: string, relative: string, maxBytes: number): Buffer {
  if (path.isAbsolute(relative)) throw new OutsideRootError(`"${relative}" is an absolute path; name a file inside the package`);
  const normal = path.posix.normalize(relative.replace(/\\/g, '/'));
  if (normal === '..' || normal.startsWith('../')) throw new OutsideRootError(`"${relative}" leads outside the package`);
  const dir = path.posix.dirname(normal);
  const name = path.posix.basename(normal);
  const rootFd = fs.openSync(rootPath, O_RDONLY | O_DIRECTORY);
  let dirFd: number | undefined;
  try {
    dirFd = openDirectoryBeneath(rootFd, dir === '.' ? '' : dir, { create: false });
    let fd: number;
    try {
      fd = fs.openSync(`/proc/self/fd/${dirFd}/${name}`, O_RDONLY | O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new OutsideRootError(`"${relative}" is a symbolic link; nothing is read through one`);
      throw err;
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new OutsideRootError(`"${relative}" is not a regular file`);
      if (st.size > maxBytes) throw new OutsideRootError(`"${relative}" is larger than ${maxBytes} bytes`);
      const buf = Buffer.alloc(st.size);
      let off = 0;
      while (off < buf.length) {
        const n = fs.readSync(fd, buf, off, buf.length - off, off);
        if (n === 0) break;
        off += n;
      }
      return buf.subarray(0, off);
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    if (dirFd !== undefined) fs.closeSync(dirFd);
    fs.closeSync(rootFd);
  }
}
