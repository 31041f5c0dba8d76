// Nanosecond-exact timestamp setting through our one native helper (fs_times.c, built by
// node-gyp at install). Node's own futimes/utimes take seconds as a double and lose the last
// digits of a 2020s timestamp; where the helper is missing we fall back to them, and the unit
// test of this module fails, so a broken build does not go unnoticed.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** How to set one timestamp: leave it, set it to now, or set it to `ns` since the epoch. */
export type TimeSpec = { kind: 'omit' } | { kind: 'now' } | { kind: 'set'; ns: bigint };

interface NativeTimes {
  setTimes(target: number | string, aMode: number, aNs: bigint, mMode: number, mNs: bigint, follow: boolean): void;
}

function findAddon(): NativeTimes | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'build', 'Release', 'fs_times.node');
    if (fs.existsSync(candidate)) return createRequire(import.meta.url)(candidate) as NativeTimes;
    dir = path.dirname(dir);
  }
  return undefined;
}

const addon = findAddon();
export const nanosecondTimes = addon !== undefined;

const mode = (t: TimeSpec) => (t.kind === 'omit' ? 0 : t.kind === 'now' ? 1 : 2);
const nsOf = (t: TimeSpec) => (t.kind === 'set' ? t.ns : 0n);

function fallbackSeconds(t: TimeSpec, current: bigint): number {
  if (t.kind === 'now') return Date.now() / 1000;
  return Number(t.kind === 'set' ? t.ns : current) / 1e9;
}

/** Sets atime/mtime of an open fd. */
export function setFdTimes(fd: number, atime: TimeSpec, mtime: TimeSpec): void {
  if (addon) return addon.setTimes(fd, mode(atime), nsOf(atime), mode(mtime), nsOf(mtime), true);
  const st = fs.fstatSync(fd, { bigint: true });
  fs.futimesSync(fd, fallbackSeconds(atime, st.atimeNs), fallbackSeconds(mtime, st.mtimeNs));
}

/** Sets atime/mtime of a path; a final symlink is changed itself unless `follow`. */
export function setPathTimes(target: string, atime: TimeSpec, mtime: TimeSpec, follow: boolean): void {
  if (addon) return addon.setTimes(target, mode(atime), nsOf(atime), mode(mtime), nsOf(mtime), follow);
  const st = follow ? fs.statSync(target, { bigint: true }) : fs.lstatSync(target, { bigint: true });
  (follow ? fs.utimesSync : fs.lutimesSync)(target, fallbackSeconds(atime, st.atimeNs), fallbackSeconds(mtime, st.mtimeNs));
}
