// A busybox container image built locally (no registry is reachable on an edge device or in CI):
// /bin/busybox from Debian's busybox-static, applet links, imported with `podman import`.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const BUSYBOX_IMAGE = 'localhost/bulkhead-busybox:latest';

export function podmanAvailable(): string | undefined {
  const probe = spawnSync('podman', ['info', '--format', '{{.Host.OCIRuntime.Name}}'], { encoding: 'utf8' });
  if (probe.error) return 'podman is not installed';
  if (probe.status !== 0) return `podman does not work here: ${probe.stderr.trim().split('\n').pop()}`;
  return undefined;
}

export function ensureBusyboxImage(): void {
  if (spawnSync('podman', ['image', 'exists', BUSYBOX_IMAGE]).status === 0) return;
  const busybox = '/bin/busybox';
  if (!fs.existsSync(busybox)) throw new Error('busybox-static is not installed (apt-get install busybox-static)');
  const rootfs = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-busybox-'));
  fs.mkdirSync(path.join(rootfs, 'bin'));
  fs.copyFileSync(busybox, path.join(rootfs, 'bin', 'busybox'));
  fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) {
    if (applet !== 'busybox') fs.symlinkSync('busybox', path.join(rootfs, 'bin', applet));
  }
  for (const dir of ['tmp', 'etc', 'proc', 'sys', 'dev']) fs.mkdirSync(path.join(rootfs, dir));
  const tarball = `${rootfs}.tar`;
  execFileSync('tar', ['-C', rootfs, '-cf', tarball, '.']);
  execFileSync('podman', ['import', '--change', 'CMD ["/bin/sh"]', tarball, BUSYBOX_IMAGE], { stdio: 'ignore' });
  fs.rmSync(rootfs, { recursive: true, force: true });
  fs.rmSync(tarball, { force: true });
}
