// How much of the disk a vendor's data root takes, counted the same way when it is scanned (at
// sandbox start) and when a guest changes it (every write, extend, create, remove): each entry
// costs ENTRY_BYTES (an inode and a block), and a regular file its size on top. Sizes are logical,
// so a sparse file costs what it could grow into: extending a file is charged as a write.
import fs from 'node:fs';
import path from 'node:path';

export const ENTRY_BYTES = 4096;

/** What one entry costs, from its lstat. */
export function entryCost(st: fs.Stats | fs.BigIntStats): number {
  return ENTRY_BYTES + (st.isFile() ? Number(st.size) : 0);
}

/** Walks `root` without following links; an unreadable part counts what could be read. */
export function scanDiskUsage(root: string): number {
  let total = 0;
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const p = path.join(dir, name);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(p);
      } catch {
        continue;
      }
      total += entryCost(st);
      if (st.isDirectory()) pending.push(p);
    }
  }
  return total;
}

/** Bytes a file grows by when written up to `end` (0 when the write stays inside it). */
export function growthTo(fd: number, end: number | bigint): number {
  const size = Number(fs.fstatSync(fd).size);
  return Math.max(0, Number(end) - size);
}

// What removing an entry gives back depends on who still holds the file open: open-files.ts.
