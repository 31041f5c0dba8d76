// Grant directories as kernel handles: the party that checks a grant opens its directory once,
// beneath the vendor's root, and the sandbox uses that handle; nobody opens the grant by path again.
//
// Node has no openat(2), so every step goes through /proc/self/fd/N/<name>: the kernel starts at the
// directory N really is (wherever it has been moved to) and resolves one single name in it. With
// O_NOFOLLOW a symlink in that position fails (ELOOP) instead of being followed, and mkdir never
// follows a final symlink, so a walk of such steps cannot leave the root, whatever a guest of the
// same vendor renames or plants meanwhile (as openat2's RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS).
import fs from 'node:fs';
import path from 'node:path';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = fs.constants;

/**
 * An open directory: the fd (valid in every thread of this process: worker threads share the fd
 * table) and what it was when it was checked, so a user can tell the fd number was not reused.
 */
export interface DirectoryHandle { fd: number; dev: string; ino: string }

/** A grant path that cannot be opened beneath the root without following a link (or is no directory). */
export class OutsideRootError extends Error {}

const at = (dirFd: number, name: string) => `/proc/self/fd/${dirFd}/${name}`;

export function handleOf(fd: number): DirectoryHandle {
  const st = fs.fstatSync(fd, { bigint: true });
  return { fd, dev: String(st.dev), ino: String(st.ino) };
}

/**
 * Opens one directory entry of `dirFd` without following it; creates it first when asked and
 * missing. Someone renaming the entry between our mkdir and open gets a few retries, then a refusal.
 */
function openChild(dirFd: number, name: string, create: boolean, mode: number): number {
  for (let attempt = 0; ; attempt++) {
    try {
      return fs.openSync(at(dirFd, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !create) throw err;
      if (attempt === 3) throw new OutsideRootError(`"${name}" kept changing while it was opened`);
    }
    try {
      fs.mkdirSync(at(dirFd, name), { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // made meanwhile: open what is there
    }
  }
}

/**
 * Opens the directory `relative` (a '/'-separated path of plain names) beneath the open directory
 * `rootFd`, one component at a time, never following a symlink, creating missing components with
 * `mode` when `create`. Returns a new fd the caller owns. Throws OutsideRootError naming the
 * component that is a symlink, not a directory, or `..`; nothing beyond that component is touched.
 */
export function openDirectoryBeneath(rootFd: number, relative: string, options: { create: boolean; mode?: number }): number {
  const names = relative.split('/').filter((c) => c !== '' && c !== '.');
  let fd = rootFd;
  const walked: string[] = [];
  try {
    for (const name of names) {
      walked.push(name);
      if (name === '..') throw new OutsideRootError(`"${walked.join('/')}" leads above the root`);
      let next: number;
      try {
        next = openChild(fd, name, options.create, options.mode ?? 0o750);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ELOOP' && code !== 'ENOTDIR') throw err;
        // Linux answers ENOTDIR or ELOOP for a symlink under O_DIRECTORY | O_NOFOLLOW; lstat only
        // chooses the words of the refusal, the refusal itself is already decided.
        const link = (() => { try { return fs.lstatSync(at(fd, name)).isSymbolicLink(); } catch { return false; } })();
        throw new OutsideRootError(link ? `"${walked.join('/')}" is a symbolic link; nothing is opened or created through one` : `"${walked.join('/')}" is not a directory`);
      }
      if (fd !== rootFd) fs.closeSync(fd);
      fd = next;
    }
    // The root itself: a handle of its own, so every grant's fd is the caller's to close.
    return fd === rootFd ? fs.openSync(`/proc/self/fd/${rootFd}`, O_RDONLY | O_DIRECTORY) : fd;
  } catch (err) {
    if (fd !== rootFd) fs.closeSync(fd);
    throw err;
  }
}

/**
 * A private fd for the directory behind `handle` (reopened through the /proc magic link, which names
 * the object, not a path), checked to be the very directory that was granted: should the number
 * have been closed and reused, device and inode differ and nothing is opened.
 */
export function reopenHandle(handle: DirectoryHandle): number {
  const fd = fs.openSync(`/proc/self/fd/${handle.fd}`, O_RDONLY | O_DIRECTORY);
  const st = fs.fstatSync(fd, { bigint: true });
  if (String(st.dev) !== handle.dev || String(st.ino) !== handle.ino) {
    fs.closeSync(fd);
    throw new Error(`granted directory handle ${handle.fd} no longer refers to the directory that was checked`);
  }
  return fd;
}

/** A preopen's own fd: through the checker's handle when there is one, else (operator-given paths, `bulkhead run`) by path. */
export function openPreopenDirectory(preopen: { hostPath: string; handle?: DirectoryHandle }): number {
  return preopen.handle ? reopenHandle(preopen.handle) : fs.openSync(preopen.hostPath, O_RDONLY | O_DIRECTORY);
}

/**
 * Makes `target` (a path inside `rootPath`) exist as a directory, creating each missing component
 * relative to its already-open parent and never following a link: for what the daemon creates in
 * a vendor's root on its behalf (deployment and bind-mount directories). Throws OutsideRootError
 * for a target that is not lexically inside the root or whose path passes through a symlink.
 */
export function makeDirectoryBeneath(rootPath: string, target: string): void {
  const relative = path.relative(path.resolve(rootPath), path.resolve(target));
  if (relative.startsWith('..') || path.isAbsolute(relative)) throw new OutsideRootError(`${target} is outside ${rootPath}`);
  fs.mkdirSync(rootPath, { recursive: true, mode: 0o750 });
  const rootFd = fs.openSync(rootPath, O_RDONLY | O_DIRECTORY);
  try {
    fs.closeSync(openDirectoryBeneath(rootFd, relative, { create: true }));
  } finally {
    fs.closeSync(rootFd);
  }
}
