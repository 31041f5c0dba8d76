// `<data-dir>/staging/`: where installs copy, verify and unpack a package before it is renamed into
// the store. An install killed half-way leaves its directory behind (issue 11: 303 MB after three
// killed installs), so every install and every daemon start removes the directories whose owner is
// gone. A directory names its owner by pid *and* the process's start time (from /proc), so a pid
// reused by an unrelated process never keeps debris alive, and a live install is never touched.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const PREFIX = 'install-';

/** The start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), or undefined. */
function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces: count from its end.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

const ownStartTime = processStartTime(process.pid) ?? '0';

export function stagingRoot(dataDir: string): string {
  return path.join(dataDir, 'staging');
}

/** Removes every staging directory whose owning process no longer runs. Returns what it removed. */
export function cleanStaleStaging(dataDir: string): string[] {
  const root = stagingRoot(dataDir);
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    // Only installs' directories: others in staging/ (uninstall's `removing-…`) have their own owner.
    if (!name.startsWith(PREFIX)) continue;
    const m = /^install-(\d+)-(\d+)-[0-9a-f]+$/.exec(name);
    if (m && processStartTime(Number(m[1])) === m[2]) continue; // its install is still running
    // An older naming (install-<hex>) cannot name its owner: it predates this version, so it is
    // stale. rmSync removes links themselves, never what they point to.
    fs.rmSync(path.join(root, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** Creates this process's private staging directory (0700), after clearing stale ones. */
export function createStagingDir(dataDir: string): string {
  const root = stagingRoot(dataDir);
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  fs.chmodSync(root, 0o700);
  cleanStaleStaging(dataDir);
  const dir = path.join(root, `${PREFIX}${process.pid}-${ownStartTime}-${randomBytes(6).toString('hex')}`);
  fs.mkdirSync(dir, { mode: 0o700 });
  return dir;
}
