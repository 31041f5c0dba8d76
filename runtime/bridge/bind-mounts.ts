// Bind-mount sources the engine can only ever resolve to the directory the bridge checked.
//
// The engine takes a bind source as a path and resolves it again when it creates the container,
// when it starts it and on every restart. A path beneath a vendor's root can be changed by that
// vendor at any time (its containers and wasm apps write there): swap `data/sub` for a link to `/`
// between our check and the engine's use, or before a `restart: always` restart, and the engine
// mounts the host's root. So the engine never sees such a path. The bridge opens the source once,
// beneath the vendor's root without following a link (directory-handle.ts), and bind-mounts that
// open directory (mount(2) of /proc/self/fd/N, which names the object, not a path) onto a "pin": a
// directory of the data dir that only the daemon can write (bind-pins/, root-owned, 0700, never
// mounted into a container). The engine receives the pin's path. Whatever the vendor renames or
// plants later, the pin stays the directory that was checked, for the container's whole life.
//
// Pins live as host mounts, independent of our process: daemon restarts keep them; `up` keeps or
// replaces them (re-checked), `down` removes them, and leftovers of deployments that no longer
// have a container are removed on the next `up`/`down` of any deployment. After a host reboot the
// pin directories are empty and root-owned: a container the engine restarts then sees an empty
// directory, never a vendor path; the next `up` pins again and restarts it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openDirectoryBeneath, OutsideRootError } from '../../host-apis/capabilities/directory-handle.js';
import type { EnforcedService } from './container-policy.js';
import { LABEL } from './container-spec.js';
import type Docker from 'dockerode';

/** A bind source that cannot be pinned (outside the root, through a link, or the host refused the mount). */
export class BindMountError extends Error {}

const { O_RDONLY, O_DIRECTORY } = fs.constants;

/** The data dir's directory of pins: made here, refused when it is not a plain directory of ours. */
export function pinsRoot(dataDir: string): string {
  const root = path.join(path.resolve(dataDir), 'bind-pins');
  try {
    fs.mkdirSync(root, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = fs.lstatSync(root);
  if (!st.isDirectory() || st.uid !== process.getuid!() || (st.mode & 0o077) !== 0) {
    throw new BindMountError(`${root} must be a directory owned by the daemon's user with mode 0700 (it holds the bind-mount pins); remove it and run again`);
  }
  return root;
}

function deploymentPins(dataDir: string, deployment: string): string {
  // Deployment names are derived (runtime/state/vendor-names.ts): a slug and a hash, one plain name.
  if (!/^[a-z0-9][a-z0-9-]*$/.test(deployment)) throw new Error(`not a deployment name: ${deployment}`);
  return path.join(pinsRoot(dataDir), deployment);
}

/** Mount points of this mount namespace, decoded (/proc/self/mountinfo escapes blanks as \ooo). */
function mountPoints(): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean)
    .map((line) => line.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

function run(command: string, args: string[], fd?: number): string | undefined {
  const r = spawnSync(command, args, { stdio: fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', fd], encoding: 'utf8' });
  if (r.error) return `${command}: ${r.error.message}`;
  return r.status === 0 ? undefined : (r.stderr || r.stdout || `${command} exited ${r.status}`).trim();
}

/** Removes every mount stacked on `target` (a pin), then the directory itself when `remove`. */
function unpin(target: string, remove: boolean): void {
  for (let i = 0; i < 64 && mountPoints().includes(target); i++) {
    // Lazy only when busy: a pin is not used by running containers (they hold their own copy).
    if (run('umount', ['--no-canonicalize', target]) !== undefined) {
      const failed = run('umount', ['--no-canonicalize', '--lazy', target]);
      if (failed !== undefined) throw new BindMountError(`cannot unmount bind-mount pin ${target}: ${failed}`);
    }
  }
  // Never a recursive removal: were the pin still mounted, that would delete the vendor's files.
  if (remove) try { fs.rmdirSync(target); } catch { /* gone, or still mounted: left for the next cleanup */ }
}

export interface PinnedSource {
  /** The path to hand the engine: a daemon-owned directory with the checked directory mounted on it. */
  pin: string;
  /** True when the pin was (re)made now: a container already using it sees the new one only after a restart. */
  fresh: boolean;
}

/**
 * Opens `source` (a directory inside `vendorRoot`, created when missing) beneath the root without
 * following a link, and makes sure the deployment's pin for it has exactly that directory mounted.
 * The pin's name hashes the service and the source, so a changed source changes the container spec.
 */
export function pinBindSource(dataDir: string, deployment: string, service: string, vendorRoot: string, source: string): PinnedSource {
  const relative = path.relative(path.resolve(vendorRoot), path.resolve(source));
  if (relative.startsWith('..') || path.isAbsolute(relative)) throw new BindMountError(`${source} is outside ${vendorRoot}`);
  const dir = deploymentPins(dataDir, deployment);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pin = path.join(dir, createHash('sha256').update(JSON.stringify([service, relative])).digest('hex').slice(0, 24));
  fs.mkdirSync(pin, { recursive: true, mode: 0o700 });
  fs.mkdirSync(vendorRoot, { recursive: true, mode: 0o750 });
  const rootFd = fs.openSync(vendorRoot, O_RDONLY | O_DIRECTORY);
  let fd: number;
  try {
    fd = openDirectoryBeneath(rootFd, relative, { create: true });
  } catch (err) {
    if (err instanceof OutsideRootError) throw new BindMountError(err.message);
    throw err;
  } finally {
    fs.closeSync(rootFd);
  }
  try {
    const checked = fs.fstatSync(fd, { bigint: true });
    if (mountPoints().includes(pin)) {
      const current = fs.statSync(pin, { bigint: true });
      if (current.dev === checked.dev && current.ino === checked.ino) return { pin, fresh: false };
      unpin(pin, false);
    }
    // The fd travels to mount(8) as its fd 3; --no-canonicalize keeps mount(8) from resolving the
    // magic link itself: the kernel follows it to the open directory, whatever its path is now.
    const failed = run('mount', ['--no-canonicalize', '--bind', '/proc/self/fd/3', pin], fd);
    if (failed !== undefined) throw new BindMountError(`cannot pin bind-mount source ${source} (the daemon needs to be root to mount): ${failed}`);
    // Private: nothing mounted later beneath the vendor's directory propagates into the pin, or back.
    run('mount', ['--no-canonicalize', '--make-private', pin]);
    return { pin, fresh: true };
  } finally {
    fs.closeSync(fd);
  }
}

/** Unmounts and removes the deployment's pins, except those in `keep`. */
export function releasePins(dataDir: string, deployment: string, keep: ReadonlySet<string> = new Set()): void {
  const dir = deploymentPins(dataDir, deployment);
  if (!fs.existsSync(dir)) return;
  for (const name of fs.readdirSync(dir)) {
    const pin = path.join(dir, name);
    if (!keep.has(pin)) unpin(pin, true);
  }
  if (keep.size === 0) try { fs.rmdirSync(dir); } catch { /* not empty: a pin is still busy */ }
}

/**
 * Crash leftovers: pins of deployments for which `hasContainers` says no container exists any more
 * are unmounted and removed. Returns the deployments cleaned.
 */
export async function releaseOrphanPins(dataDir: string, hasContainers: (deployment: string) => Promise<boolean>): Promise<string[]> {
  const root = path.join(path.resolve(dataDir), 'bind-pins');
  if (!fs.existsSync(root)) return [];
  const cleaned: string[] = [];
  for (const deployment of fs.readdirSync(root)) {
    if (await hasContainers(deployment)) continue;
    releasePins(dataDir, deployment);
    cleaned.push(deployment);
  }
  return cleaned;
}

/**
 * A service's settings with each bind source replaced by its pin (each added to `pins`): what the
 * container is created from. `fresh` when any pin was made now.
 */
export function pinServiceBinds(
  where: { dataDir: string; identity: { deployment: string }; vendorRoot: string }, service: EnforcedService, pins: Set<string>,
): { enforced: EnforcedService; fresh: boolean } {
  let fresh = false;
  const mounts = service.mounts.map((m) => {
    if (m.type !== 'bind') return m;
    const pinned = pinBindSource(where.dataDir, where.identity.deployment, service.name, where.vendorRoot, m.source!);
    fresh ||= pinned.fresh;
    pins.add(pinned.pin);
    return { ...m, source: pinned.pin };
  });
  return { enforced: { ...service, mounts }, fresh };
}

/** Whether the engine still has any container (running or not) of the deployment. */
export async function deploymentHasContainers(docker: Docker, deployment: string): Promise<boolean> {
  const found = await docker.listContainers({ all: true, filters: { label: [`${LABEL.deployment}=${deployment}`] } });
  return found.length > 0;
}
