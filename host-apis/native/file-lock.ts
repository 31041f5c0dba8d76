// Whole-file POSIX record locks through our native helper (file_lock.c, built by node-gyp at
// install): Node's fs has no fcntl locking. `available` is false where the helper is missing;
// callers then fall back to weaker checks, and the unit test of this module fails, so a broken
// build does not go unnoticed.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface NativeLock {
  tryLock(fd: number): boolean;
  lockHolder(fd: number): number;
}

function findAddon(): NativeLock | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'build', 'Release', 'file_lock.node');
    if (fs.existsSync(candidate)) return createRequire(import.meta.url)(candidate) as NativeLock;
    dir = path.dirname(dir);
  }
  return undefined;
}

const addon = findAddon();
export const fileLocksAvailable = addon !== undefined;

/**
 * Takes a write lock on the whole file open as `fd`, without waiting; false when another process
 * holds one. The lock lasts until this process closes any descriptor of that file, or ends.
 */
export function tryLockFile(fd: number): boolean {
  if (!addon) throw new Error('file locks need the native helper (build/Release/file_lock.node); run npm run build:native');
  return addon.tryLock(fd);
}

/** The pid of another process holding a lock on the file open as `fd`, or undefined. */
export function lockHolderOf(fd: number): number | undefined {
  if (!addon) throw new Error('file locks need the native helper (build/Release/file_lock.node); run npm run build:native');
  const pid = addon.lockHolder(fd);
  return pid > 0 ? pid : undefined;
}
