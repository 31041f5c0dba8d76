// Hostile: a vendor's own container swaps one of its bind-mount directories for a link to the
// host's `/`, hoping the engine resolves the path again when it creates or restarts the vendor's
// other service (red-team findings 01 and 01b). The bridge hands the engine only daemon-owned pins
// of the directory it checked, so the engine never mounts the host root: not after a restart, not
// when the swap races `up`. Real Podman, real mounts, the real CLI.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUSYBOX_IMAGE, ensureBusyboxImage, podmanAvailable } from '../../samples/containers/busybox-image.js';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { containerName } from '../../runtime/bridge/container-spec.js';
import { deploymentName, vendorDirName, vendorNetworkName } from '../../runtime/state/vendor-names.js';
import { runCli, tempDir } from '../support/paths.js';

const VENDOR = 'Bind Swap Evil';
const dataDir = tempDir('bulkhead-bindswap-');
const vendorRoot = path.join(dataDir, 'vendors', vendorDirName(vendorId(VENDOR)));
const MARKER = `/tmp/bulkhead-bindswap-wrote-host-root-${process.pid}`;
const cname = (project: string, service: string) => containerName(deploymentName(vendorId(VENDOR), project), service);

const podman = (...args: string[]) => execFileSync('podman', args, { encoding: 'utf8' });
const logsOf = (container: string) => spawnSync('podman', ['logs', container], { encoding: 'utf8' }).stdout ?? '';
const mountsUnder = (dir: string) => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(dir));

function writeApp(dir: string, compose: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'compose.yaml'), compose);
  return path.join(dir, 'compose.yaml');
}
const bridge = (verb: string, file: string) => runCli(['--data-dir', dataDir, 'compose', verb, '-f', file, '--vendor', VENDOR]);

test.before(() => {
  const problem = podmanAvailable();
  if (problem) throw new Error(`these tests need a real Podman engine (.ci/run installs and starts it): ${problem}`);
  ensureBusyboxImage();
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:\n  ${VENDOR}:\n    limits: { memory: 32Mi, cpus: 0.3, pids: 32 }\n    images: ["${BUSYBOX_IMAGE}"]\n`);
});

test.after(() => {
  const ids = podman('ps', '-aq', '--filter', `label=org.bulkhead.vendor=${VENDOR}`).split('\n').filter(Boolean);
  if (ids.length) spawnSync('podman', ['rm', '-f', '-t', '0', ...ids], { stdio: 'ignore' });
  spawnSync('podman', ['network', 'rm', vendorNetworkName(vendorId(VENDOR))], { stdio: 'ignore' });
  for (const line of mountsUnder(dataDir).reverse()) spawnSync('umount', ['-l', line.split(' ')[4]!]);
  fs.rmSync(MARKER, { force: true });
});

test('a swap to a link to / before a restart: the restarted service still sees its own directory', async () => {
  // planter has ./data read-write; once victim has lived once, it swaps data/sub for a link to `/`.
  // victim mounts ./data/sub, exits after each life and is restarted by the engine (restart: always).
  const file = writeApp(path.join(tempDir(), 'swap'), `name: swap
services:
  planter:
    image: ${BUSYBOX_IMAGE}
    volumes: ["./data:/data"]
    command: ["sh", "-c", "while [ ! -e /data/sub/lives ]; do usleep 100000; done; mv /data/sub /data/sub.old && ln -s / /data/sub && echo planted; exec sleep 3600"]
  victim:
    image: ${BUSYBOX_IMAGE}
    restart: always
    volumes: ["./data/sub:/host"]
    command: ["sh", "-c", "echo LIFE; if [ -e /host/etc/shadow ]; then echo HOST-ROOT; else echo x >> /host/lives; fi; touch /host${MARKER} 2>/dev/null && echo WROTE-HOST; sleep 1"]
`);
  const up = await bridge('up', file);
  assert.is(up.code, 0, up.stderr);
  const victim = cname('swap', 'victim');
  const planter = cname('swap', 'planter');
  // Wait for the swap, then for three lives of victim after it (each a fresh mount by the engine).
  const deadline = Date.now() + 60_000;
  let livesAfterSwap = 0;
  while (Date.now() < deadline && !/HOST-ROOT/.test(logsOf(victim))) {
    if (logsOf(planter).includes('planted')) {
      const lives = fs.existsSync(path.join(vendorRoot, 'deployments/swap/data/sub.old/lives'))
        ? fs.readFileSync(path.join(vendorRoot, 'deployments/swap/data/sub.old/lives'), 'utf8').length / 2 : 0;
      livesAfterSwap = lives;
      if (lives >= 4) break;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(fs.lstatSync(path.join(vendorRoot, 'deployments/swap/data/sub')).isSymbolicLink(), 'the planter really planted its link');
  const logs = logsOf(victim);
  assert.not.match(logs, /HOST-ROOT|WROTE-HOST/, 'a restart never mounts the host root');
  assert.not.ok(fs.existsSync(MARKER), 'nothing was written to the host through the link');
  assert.ok(livesAfterSwap >= 4, `victim restarted after the swap and kept its own directory (lives seen: ${livesAfterSwap})`);
  // The engine was handed a daemon-owned pin, not a path in the vendor's root.
  const binds: string[] = JSON.parse(podman('inspect', victim))[0].HostConfig.Binds;
  assert.ok(binds.every((b) => b.startsWith(path.join(dataDir, 'bind-pins') + '/')), binds.join(', '));
  // `up` again re-checks: the source is now a link, refused with a one-line fix-it error.
  const again = await bridge('up', file);
  assert.is(again.code, 1);
  assert.match(again.stderr, /^bulkhead: BH_ERR_DEPLOY: services\.victim: bind mount: "deployments\/swap\/data\/sub" is a symbolic link/m);
  assert.not.match(again.stderr, /\n\s+at /, 'no stack trace');
  // down removes the containers and every pin; the vendor's own files stay.
  assert.is((await bridge('down', file)).code, 0);
  assert.equal(mountsUnder(path.join(dataDir, 'bind-pins')), []);
  assert.ok(fs.existsSync(path.join(vendorRoot, 'deployments/swap/data/sub.old/lives')));
});

test('a directory flipped with a link to / while `up` runs: never the host root', async () => {
  // flipper swaps the victim's bind directory and a link to / every 3 ms; each `up` recreates victim.
  const root = tempDir();
  const flipper = writeApp(path.join(root, 'planter'), `name: flipper
services:
  flip:
    image: ${BUSYBOX_IMAGE}
    volumes: ["../victim/data:/v"]
    command: ["sh", "-c", "mkdir -p /v/sub; while :; do mv /v/sub /v/real && ln -s / /v/sub; usleep 3000; rm -f /v/sub; mv /v/real /v/sub; usleep 3000; done"]
`);
  assert.is((await bridge('up', flipper)).code, 0);
  const outcomes: string[] = [];
  for (let i = 1; i <= 8; i++) {
    const file = writeApp(path.join(root, 'victim'), `name: victim
services:
  app:
    image: ${BUSYBOX_IMAGE}
    environment: { ATTEMPT: "${i}" }
    volumes: ["./data/sub:/host:ro"]
    command: ["sh", "-c", "if [ -e /host/etc/shadow ]; then echo HOST-ROOT; else echo own-dir; fi; exec sleep 60"]
`);
    const up = await bridge('up', file);
    if (up.code !== 0) {
      outcomes.push(`refused: ${up.stderr.trim()}`);
      continue;
    }
    let log = '';
    for (let t = 0; t < 40 && !log.trim(); t++) {
      await new Promise((r) => setTimeout(r, 100));
      log = logsOf(cname('victim', 'app'));
    }
    outcomes.push(log.trim());
  }
  assert.not.ok(outcomes.includes('HOST-ROOT'), outcomes.join('\n'));
  assert.ok(outcomes.includes('own-dir'), `some ups got through to the engine: ${outcomes.join('\n')}`);
  // An up that lost the race was refused because the walk met the link (or the name vanished
  // under it), with a clear one-line error, before the engine was asked for anything.
  for (const o of outcomes.filter((x) => x.startsWith('refused'))) assert.match(o, /^refused: bulkhead: BH_ERR_DEPLOY: services\.app: bind mount: [^\n]+$/, o);
  assert.is((await bridge('down', path.join(root, 'victim', 'compose.yaml'))).code, 0);
  assert.is((await bridge('down', flipper)).code, 0);
  assert.equal(mountsUnder(path.join(dataDir, 'bind-pins')), []);
});

test.run();
