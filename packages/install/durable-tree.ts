// Making unpacked files durable before the database commit that makes them visible: a power loss
// after the commit must not leave a recorded package with missing or empty files (issue 11). The
// kernel may write a rename's directory entry before the file data, so every file and every
// directory is synced, and after the rename the directories whose entries changed.
import fs from 'node:fs';
import path from 'node:path';

function syncPath(p: string): void {
  // O_NOFOLLOW: a symlink inside the package is synced as its directory's entry, never followed.
  const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsyncs every regular file and directory under `root` (itself included), children first. */
export function syncTree(root: string): void {
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    const p = path.join(root, entry.name);
    if (entry.isDirectory()) syncTree(p);
    else if (entry.isFile()) syncPath(p);
  }
  syncPath(root);
}

/** fsyncs directories (after a rename into them, so the new entry is on disk). */
export function syncDirectories(...dirs: string[]): void {
  for (const d of dirs) syncPath(d);
}
