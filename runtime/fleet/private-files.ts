// The device's fleet credentials, copied into <data-dir>/fleet/ at join: mode 0600, written to a
// temporary name, fsynced and renamed into place, so a crash leaves the old file or the new one,
// never half of one, and no other user can read the key at any moment.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { PackageError } from '../../packages/package-errors.js';
import { readSmallFile } from '../../packages/archive/private-copy.js';
import { FleetError } from './fleet-errors.js';

export function fleetDir(dataDir: string): string {
  return path.join(dataDir, 'fleet');
}

export function ensureFleetDir(dataDir: string): string {
  const dir = fleetDir(dataDir);
  fs.mkdirSync(dir, { mode: 0o700, recursive: true });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new FleetError('BH_ERR_FLEET_JOIN', `${dir} is not a directory`);
  fs.chmodSync(dir, 0o700);
  return dir;
}

/** Reads an input file once (a regular file, at most `maxBytes`). */
export function readInputFile(file: string, maxBytes: number, what: string): Buffer {
  try {
    return readSmallFile(file, maxBytes);
  } catch (err) {
    if (err instanceof PackageError) throw new FleetError('BH_ERR_FLEET_JOIN', `${what} ${err.message}`);
    throw err;
  }
}

export function writePrivateFile(dir: string, name: string, bytes: Uint8Array): string {
  const target = path.join(dir, name);
  const temp = path.join(dir, `.${name}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  try {
    fs.writeFileSync(fd, bytes);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(temp, target);
  const dirFd = fs.openSync(dir, fs.constants.O_RDONLY);
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
  return target;
}
