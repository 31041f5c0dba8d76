// Path resolution that can never leave a directory descriptor.
//
// Node has no openat(2), so we emulate it through Linux's /proc/self/fd/N magic links: a path under
// /proc/self/fd/N is resolved by the kernel starting at the directory that N really is, wherever it
// has been moved to. We walk the guest's path one component at a time with lstat, expanding symlinks
// ourselves (absolute targets and `..` above the start are refused), then open the parent directory
// and check with readlink(/proc/self/fd/parent) that the kernel landed inside the start directory.
// That post-check closes the race where a component is swapped for a symlink between our walk and the
// open. The last component is then used only relative to that verified parent fd, and opened with
// O_NOFOLLOW, so a symlink swapped in there fails with ELOOP instead of being followed.
import fs from 'node:fs';
import { Errno } from './constants.js';
import { WasiError } from './errors.js';

const MAX_SYMLINK_EXPANSIONS = 32;

export function procPath(hostFd: number): string {
  return `/proc/self/fd/${hostFd}`;
}

/** The result of resolving a guest path: a verified parent directory and one final name in it. */
export class ResolvedPath {
  constructor(
    /** Kernel fd of the verified parent directory. */
    readonly parentFd: number,
    /** Single final component (never contains '/'); '.' means the parent itself. */
    readonly name: string,
    /** Whether the guest wrote a trailing slash, which demands a directory. */
    readonly trailingSlash: boolean,
    private readonly ownsParent: boolean,
  ) {}

  /** A host path that the kernel resolves relative to the verified parent. */
  get hostPath(): string {
    return `${procPath(this.parentFd)}/${this.name}`;
  }

  release(): void {
    if (this.ownsParent) fs.closeSync(this.parentFd);
  }
}

function splitComponents(path: string): string[] {
  return path.split('/').filter((c) => c.length > 0);
}

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith('/') ? root : `${root}/`);
}

/**
 * Resolves `path` relative to the directory `dirFd`. With `followFinal`, a symlink in the last
 * position is expanded too. Throws WasiError(NOTCAPABLE) for anything that would leave `dirFd`.
 */
export function resolveConfined(dirFd: number, path: string, followFinal: boolean): ResolvedPath {
  if (path.length === 0) throw new WasiError(Errno.NOENT, 'empty path');
  if (path.includes('\0')) throw new WasiError(Errno.INVAL, 'path contains NUL');
  if (path.startsWith('/')) throw new WasiError(Errno.NOTCAPABLE, `absolute path "${path}" outside the sandbox`);

  const base = procPath(dirFd);
  const trailingSlash = path.endsWith('/');
  const queue = splitComponents(path);
  const stack: string[] = [];
  let expansions = 0;

  while (queue.length > 0) {
    const component = queue.shift()!;
    const isLast = queue.length === 0;
    if (component === '.') continue;
    if (component === '..') {
      if (stack.length === 0) throw new WasiError(Errno.NOTCAPABLE, `"${path}" leads above its directory`);
      stack.pop();
      continue;
    }
    const candidate = `${base}/${[...stack, component].join('/')}`;
    if (isLast && !followFinal && !trailingSlash) {
      stack.push(component);
      break;
    }
    let st: fs.Stats;
    try {
      st = fs.lstatSync(candidate);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && isLast) {
        stack.push(component);
        break;
      }
      throw err;
    }
    if (st.isSymbolicLink()) {
      if (++expansions > MAX_SYMLINK_EXPANSIONS) throw new WasiError(Errno.LOOP, 'too many symlinks');
      const target = fs.readlinkSync(candidate);
      if (target.startsWith('/')) {
        throw new WasiError(Errno.NOTCAPABLE, `symlink "${component}" points to an absolute path`);
      }
      const expanded = splitComponents(target);
      // A link to "dir/" keeps demanding a directory when it was the last component.
      queue.unshift(...expanded);
      if (expanded.length === 0) throw new WasiError(Errno.NOENT, 'empty symlink');
      continue;
    }
    if (!isLast && !st.isDirectory()) throw new WasiError(Errno.NOTDIR, `"${component}" is not a directory`);
    stack.push(component);
  }

  if (stack.length === 0) return new ResolvedPath(dirFd, '.', trailingSlash, false);
  const name = stack.pop()!;
  if (stack.length === 0) return new ResolvedPath(dirFd, name, trailingSlash, false);

  const parentFd = fs.openSync(
    `${base}/${stack.join('/')}/.`,
    fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW,
  );
  try {
    const root = fs.readlinkSync(base);
    const landed = fs.readlinkSync(procPath(parentFd));
    if (!isInside(root, landed)) {
      throw new WasiError(Errno.NOTCAPABLE, `"${path}" was redirected outside its directory`);
    }
  } catch (err) {
    fs.closeSync(parentFd);
    throw err;
  }
  return new ResolvedPath(parentFd, name, trailingSlash, true);
}
