// Writing a package file: a reproducible gzip'd tar of a package directory (same input, same
// bytes): entries sorted, owners dropped, times fixed, modes normalised.
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import * as tar from 'tar';
import { ArchiveError } from './archive-limits.js';

const FIXED_MTIME = new Date('2000-01-01T00:00:00Z');

/** Every file and directory under `root`, sorted, as archive paths. Refuses links and specials. */
export function listPackageTree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const names = fs.readdirSync(path.join(root, rel)).sort();
    for (const name of names) {
      const childRel = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(path.join(root, childRel));
      if (st.isSymbolicLink()) throw new ArchiveError(`${childRel}: packages may not contain symlinks; copy the file instead`);
      if (st.isDirectory()) {
        out.push(childRel);
        walk(childRel);
      } else if (st.isFile()) {
        out.push(childRel);
      } else {
        throw new ArchiveError(`${childRel}: only regular files and directories can be packed`);
      }
    }
  };
  walk('');
  return out;
}

/**
 * Writes `entries` (from listPackageTree) as a gzip'd ustar archive whose bytes depend only on the
 * files' names, contents and executable bits. We emit the headers ourselves with node-tar's Header
 * encoder because tar.c takes modes from stat() after any hook could normalise them.
 */
export async function writeReproducibleTarGz(root: string, entries: string[], output: string, level = 9): Promise<void> {
  const tmp = `${output}.partial-${process.pid}`;
  const gzip = zlib.createGzip({ level });
  const sink = fs.createWriteStream(tmp);
  const done = pipeline(gzip, sink);
  // Awaited below; marked handled now, because the sink can fail (say, its directory is missing)
  // before that, and an unhandled rejection would end the process with a stack trace.
  done.catch(() => undefined);
  // A failed sink destroys gzip, which then never drains: wait for whichever comes first.
  const write = (chunk: Buffer) => (gzip.write(chunk) ? Promise.resolve() : Promise.race([once(gzip, 'drain'), done]).then(() => undefined));
  try {
    for (const rel of entries) {
      if (Buffer.byteLength(rel) > 255) throw new ArchiveError(`${rel}: path longer than 255 bytes cannot be packed`);
      const st = fs.statSync(path.join(root, rel));
      const isDir = st.isDirectory();
      const header = new tar.Header({
        path: isDir ? `${rel}/` : rel,
        mode: isDir || st.mode & 0o111 ? 0o755 : 0o644,
        uid: 0, gid: 0, uname: '', gname: '',
        size: isDir ? 0 : st.size,
        mtime: FIXED_MTIME,
        type: isDir ? 'Directory' : 'File',
      });
      const block = Buffer.alloc(512);
      header.encode(block, 0);
      await write(block);
      if (isDir) continue;
      for await (const chunk of fs.createReadStream(path.join(root, rel))) await write(chunk as Buffer);
      const pad = (512 - (st.size % 512)) % 512;
      if (pad) await write(Buffer.alloc(pad));
    }
    await write(Buffer.alloc(1024));
    gzip.end();
    await done;
    fs.renameSync(tmp, output);
  } catch (err) {
    gzip.destroy();
    await done.catch(() => undefined);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
