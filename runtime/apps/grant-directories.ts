// The fs part of a grant, resolved once: each granted directory is opened (created where missing)
// beneath the vendor's data root as a directory handle, component by component without following
// a link, by the daemon that checks it. The sandbox then uses only these handles, so an app of the
// same vendor that renames a directory away and plants a symlink in its place, before or after the
// check, moves nothing: the daemon never creates, and a guest never opens, anything outside the root.
import fs from 'node:fs';
import path from 'node:path';
import { handleOf, openDirectoryBeneath, OutsideRootError } from '../../host-apis/capabilities/directory-handle.js';
import type { Denial, EffectiveGrant } from '../../host-apis/capabilities/grant.js';

/**
 * Gives every fs grant its handle; a grant whose path passes through a symlink (or a non-directory)
 * is dropped from the grant and becomes a denial, so it is audited when the app starts. Throws only
 * for host failures, with every handle opened so far closed again.
 */
export function openGrantDirectories(grant: EffectiveGrant, denials: Denial[], dataRoot: string): void {
  // The root itself is the operator's path (the data dir, or the policy's dataRoot): opened by path.
  fs.mkdirSync(dataRoot, { recursive: true, mode: 0o750 });
  const rootFd = fs.openSync(dataRoot, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  const kept: EffectiveGrant['fs'] = [];
  try {
    for (const f of grant.fs) {
      const relative = path.relative(path.resolve(dataRoot), f.hostPath);
      try {
        f.handle = handleOf(openDirectoryBeneath(rootFd, relative, { create: true, mode: 0o750 }));
        kept.push(f);
      } catch (err) {
        if (!(err instanceof OutsideRootError)) throw err;
        denials.push({ capability: 'fs', requested: `${f.guestPath} -> ${relative}`, reason: `${err.message}; grant refused` });
      }
    }
  } catch (err) {
    closeGrantDirectories({ fs: kept });
    throw err;
  } finally {
    fs.closeSync(rootFd);
  }
  grant.fs = kept;
}

/** Closes the handles of a grant (when its instance has ended, or it never started). */
export function closeGrantDirectories(grant: Pick<EffectiveGrant, 'fs'>): void {
  for (const f of grant.fs) {
    if (f.handle) fs.closeSync(f.handle.fd);
    f.handle = undefined;
  }
}

/** How many directory handles a grant holds (counted against its vendor). */
export function grantDirectoryCount(grant: Pick<EffectiveGrant, 'fs'>): number {
  return grant.fs.filter((f) => f.handle).length;
}
