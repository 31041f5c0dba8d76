// Which process is the data dir's daemon. The daemon holds a POSIX write lock on
// <data-dir>/daemon.lock for its lifetime; the kernel drops it when the process ends (a killed
// daemon's zombie holds nothing) and names the holder to anyone who asks (F_GETLK). So "a daemon
// runs, with this pid" is the kernel's answer, never a pid file's: a stale file naming another
// process cannot make `status` say running or `daemon --stop` signal that process.
import fs from 'node:fs';
import path from 'node:path';
import { fileLocksAvailable, lockHolderOf, tryLockFile } from '../../host-apis/native/file-lock.js';

const LOCK_FILE = 'daemon.lock';

export class DaemonRunningError extends Error {}

// POSIX locks belong to the process, and closing any descriptor of the file drops them: so this
// process never opens a lock file it holds; it answers for itself from this table.
const held = new Map<string, { fd: number; dev: number; ino: number }>();

function heldHere(file: string): boolean {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return false;
  }
  return [...held.values()].some((h) => h.dev === st.dev && h.ino === st.ino);
}

/** The pid of the data dir's running daemon, if one runs. */
export function daemonPid(dataDir: string): number | undefined {
  const file = path.join(dataDir, LOCK_FILE);
  if (heldHere(file)) return process.pid;
  if (!fileLocksAvailable) return undefined;
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    return lockHolderOf(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Takes the data dir's daemon lock, or throws DaemonRunningError naming the daemon that holds it.
 * Returns the release function. The file keeps its inode (it is never removed), so two daemons
 * starting at once always contend for the same lock.
 */
export function holdDaemonLock(dataDir: string): () => void {
  const file = path.join(dataDir, LOCK_FILE);
  if (heldHere(file)) throw new DaemonRunningError(`a daemon already runs for ${dataDir} (pid ${process.pid}, this process)`);
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o644);
  let locked: boolean;
  try {
    locked = tryLockFile(fd);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  if (!locked) {
    const holder = lockHolderOf(fd);
    fs.closeSync(fd);
    throw new DaemonRunningError(`a daemon already runs for ${dataDir}${holder ? ` (pid ${holder})` : ''}`);
  }
  // The pid, for people reading the file; nothing here trusts it.
  fs.ftruncateSync(fd, 0);
  fs.writeSync(fd, `${process.pid}\n`, 0);
  const st = fs.fstatSync(fd);
  const key = `${st.dev}:${st.ino}`;
  held.set(key, { fd, dev: st.dev, ino: st.ino });
  return () => {
    if (!held.delete(key)) return;
    try {
      fs.ftruncateSync(fd, 0);
    } catch { /* the pid text is only informative */ }
    fs.closeSync(fd);
  };
}
