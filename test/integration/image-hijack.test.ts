// Hostile: engine image names are shared by every vendor (red-team finding 02). A rogue vendor
// (a) names the victim's image in its own Compose file to read what the image holds, and (b) ships,
// in a signed package, an image archive whose manifest claims the victim's image name (and the
// operator's base image), hoping the load moves those names to its code so that the victim's next
// create runs it with the victim's mounts. Also (12): a vendor's images are charged against its
// imageStorage and leave the engine on `down`. Real Podman, real signed package, the real CLI.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUSYBOX_IMAGE, ensureBusyboxImage, podmanAvailable } from '../../samples/containers/busybox-image.js';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { containerName } from '../../runtime/bridge/container-spec.js';
import { deploymentName, vendorDirName, vendorNetworkName } from '../../runtime/state/vendor-names.js';
import { craftTarGz, makeKey, makePackage } from '../support/package-fixtures.js';
import { runCli, tempDir } from '../support/paths.js';

const VICTIM = 'Hijack Victim';
const ROGUE = 'Hijack Rogue';
const VICTIM_IMAGE = `localhost/bh-hijack-victim-app:${process.pid}`;
/** The operator's base image: its own name for busybox (so that a regression cannot move the shared busybox name). */
const BASE_IMAGE = `localhost/bh-hijack-operator-base:${process.pid}`;
const dataDir = tempDir('bulkhead-hijack-');
const work = tempDir('bulkhead-hijack-build-');

const podman = (...args: string[]) => execFileSync('podman', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const imageId = (name: string) => spawnSync('podman', ['image', 'inspect', name, '--format', '{{.Id}}'], { encoding: 'utf8' }).stdout.trim();
const logsOf = (container: string) => spawnSync('podman', ['logs', container], { encoding: 'utf8' }).stdout ?? '';
const cli = (...args: string[]) => runCli(['--data-dir', dataDir, ...args]);
const until = async (what: () => boolean) => {
  for (let i = 0; i < 50 && !what(); i++) await new Promise((r) => setTimeout(r, 200));
};

/** Builds an image from the local busybox with `files` added, saved as a docker-archive claiming `names`. */
function imageArchive(tag: string, files: Record<string, string>, names: string[]): string {
  const dir = fs.mkdtempSync(path.join(work, 'img-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'Containerfile'), `FROM ${BUSYBOX_IMAGE}\n${Object.keys(files).map((f) => `COPY ${f} /${f}`).join('\n')}\n`);
  podman('build', '-q', '-t', tag, dir);
  const raw = path.join(dir, 'raw');
  fs.mkdirSync(raw);
  podman('save', '-o', path.join(dir, 'raw.tar'), tag);
  podman('rmi', tag);
  execFileSync('tar', ['-xf', path.join(dir, 'raw.tar'), '-C', raw]);
  const manifest = JSON.parse(fs.readFileSync(path.join(raw, 'manifest.json'), 'utf8'));
  manifest[0].RepoTags = names;
  fs.writeFileSync(path.join(raw, 'manifest.json'), JSON.stringify(manifest));
  fs.rmSync(path.join(raw, 'repositories'), { force: true });
  const archive = path.join(dir, 'image.tar');
  execFileSync('tar', ['-cf', archive, '-C', raw, '.']);
  return archive;
}

function composeFile(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(work, `${name}-`));
  fs.writeFileSync(path.join(dir, 'compose.yaml'), text);
  return path.join(dir, 'compose.yaml');
}

let victimArchive = '';
let rogueArchive = '';
const victimCompose = () => composeFile('victim', `name: plant
services:
  app:
    image: ${VICTIM_IMAGE}
    command: ["/entry"]
    volumes: ["./data:/victimdata"]
  base:
    image: ${BASE_IMAGE}
    command: ["sh", "-c", "test -e /entry && echo ROGUE-BASE || echo real-base; exec sleep 3600"]
`);

test.before(() => {
  const problem = podmanAvailable();
  if (problem) throw new Error(`these tests need a real Podman engine (.ci/run installs and starts it): ${problem}`);
  ensureBusyboxImage();
  podman('tag', BUSYBOX_IMAGE, BASE_IMAGE);
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:
  ${VICTIM}:
    limits: { memory: 16Mi, pids: 16 }
    images: ["${BASE_IMAGE}"]
  ${ROGUE}:
    limits: { memory: 16Mi, pids: 16 }
    images: ["${BASE_IMAGE}"]
    imageStorage: 64Mi
`);
  victimArchive = imageArchive(`localhost/bh-hijack-build-victim:${process.pid}`,
    { 'secret.txt': 'VICTIM-IMAGE-SECRET-42\n', entry: '#!/bin/sh\necho victim-ok; cat /secret.txt; exec sleep 3600\n' }, [VICTIM_IMAGE]);
  // The rogue's archive claims the victim's name and the operator's base image.
  rogueArchive = imageArchive(`localhost/bh-hijack-build-rogue:${process.pid}`,
    { entry: '#!/bin/sh\necho ROGUE-CODE-AS-VICTIM; ls /victimdata; exec sleep 3600\n' }, [VICTIM_IMAGE, BASE_IMAGE]);
});

test.after(() => {
  for (const v of [VICTIM, ROGUE]) {
    const ids = podman('ps', '-aq', '--filter', `label=org.bulkhead.vendor=${v}`).split('\n').filter(Boolean);
    if (ids.length) spawnSync('podman', ['rm', '-f', '-t', '0', ...ids], { stdio: 'ignore' });
    spawnSync('podman', ['network', 'rm', vendorNetworkName(vendorId(v))], { stdio: 'ignore' });
    for (const image of podman('images', '--format', '{{.Repository}}:{{.Tag}}').split('\n').filter((n) => n.startsWith(`localhost/bh-${vendorDirName(vendorId(v))}/`))) {
      spawnSync('podman', ['rmi', '-f', image], { stdio: 'ignore' });
    }
  }
  for (const name of [VICTIM_IMAGE, BASE_IMAGE]) spawnSync('podman', ['rmi', name], { stdio: 'ignore' });
  // Bind-mount pins a failed test left (a passing one's down removed them).
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
    const target = line.split(' ')[4];
    if (target?.startsWith(path.join(dataDir, 'bind-pins'))) spawnSync('umount', ['-l', target]);
  }
  fs.rmSync(work, { recursive: true, force: true });
});

test('the victim runs the image it shipped, pinned by ID; its name never enters the engine', async () => {
  const up = await cli('compose', 'up', '-f', victimCompose(), '--vendor', VICTIM, '--image-archive', victimArchive);
  assert.is(up.code, 0, up.stderr);
  const app = containerName(deploymentName(vendorId(VICTIM), 'plant'), 'app');
  await until(() => logsOf(app).includes('SECRET'));
  assert.match(logsOf(app), /victim-ok\nVICTIM-IMAGE-SECRET-42/);
  assert.is(imageId(VICTIM_IMAGE), '', 'the name the archive claimed is not an engine name');
  assert.match(JSON.parse(podman('inspect', app))[0].Config.Image ?? '', /^sha256:[0-9a-f]{64}$|bh-/);
});

test("(a) another vendor naming the victim's image, its engine name or its ID is refused", async () => {
  const victimEngineName = podman('images', '--format', '{{.Repository}}:{{.Tag}}').split('\n').find((n) => n.startsWith(`localhost/bh-${vendorDirName(vendorId(VICTIM))}/`));
  assert.ok(victimEngineName, 'the victim image carries the bridge-given name');
  const victimId = imageId(victimEngineName!);
  for (const image of [VICTIM_IMAGE, victimEngineName!, victimId, `${VICTIM_IMAGE.split(':')[0]}@${victimId}`]) {
    const file = composeFile('peek', `name: peek\nservices:\n  peek:\n    image: ${image}\n    command: ["cat", "/secret.txt"]\n`);
    const r = await cli('compose', 'up', '-f', file, '--vendor', ROGUE);
    assert.is(r.code, 1, `${image}: ${r.stdout}`);
    assert.match(r.stderr, /^bulkhead: BH_ERR_POLICY: refused by the isolation policy: \[image\] services\.peek: image ".*? was not loaded by Hijack Rogue nor allowed for it; ship it as an image archive/m, r.stderr);
  }
  assert.is(podman('ps', '-aq', '--filter', `label=org.bulkhead.vendor=${ROGUE}`), '', 'no rogue container was created');
});

test("(b) a signed package's archive claiming the victim's and the operator's image names moves neither", async () => {
  const baseBefore = imageId(BASE_IMAGE);
  const archive = fs.readFileSync(craftTarGz(path.join(work, 'c.tar.gz'), [
    { path: 'rogue/', type: 'Directory' },
    { path: 'rogue/compose.yaml', data: `services:\n  idle:\n    image: ${VICTIM_IMAGE}\n    command: ["sleep", "3600"]\n` },
  ]));
  const pkg = await makePackage({
    id: 'hijack-rogue', version: '1.0.0', vendor: ROGUE,
    files: { 'compose/rogue.tar.gz': archive, 'images/rogue.tar': fs.readFileSync(rogueArchive) },
    manifestExtra: `  - type: compose\n    components:\n      - name: rogue\n        properties:\n          archive: compose/rogue.tar.gz\n          images: [images/rogue.tar]\n`,
  }, tempDir('bulkhead-hijack-pkg-'));
  const key = await makeKey();
  assert.is((await runCli(['sign', pkg, '-k', key.secretFile])).code, 0);
  assert.is((await cli('trust', 'add', key.publicFile, '--vendor', ROGUE)).code, 0);
  assert.is((await cli('install', pkg)).code, 0);
  // The rogue may run its own image under the name it claimed: that is its own code, nobody else's.
  const up = await cli('compose', 'up', '--app', 'hijack-rogue');
  assert.is(up.code, 0, up.stderr);
  assert.is(imageId(BASE_IMAGE), baseBefore, "the operator's base image name was not moved");
  assert.is(imageId(VICTIM_IMAGE), '', "the victim's image name was not created");
  // The victim recreated (down, up): its own image, the operator's real base.
  const file = victimCompose();
  assert.is((await cli('compose', 'down', '-f', file, '--vendor', VICTIM)).code, 0);
  const again = await cli('compose', 'up', '-f', file, '--vendor', VICTIM, '--image-archive', victimArchive);
  assert.is(again.code, 0, again.stderr);
  const app = containerName(deploymentName(vendorId(VICTIM), 'plant'), 'app');
  const base = containerName(deploymentName(vendorId(VICTIM), 'plant'), 'base');
  await until(() => logsOf(app).includes('SECRET') && logsOf(base).trim() !== '');
  assert.not.match(logsOf(app), /ROGUE/);
  assert.match(logsOf(app), /VICTIM-IMAGE-SECRET-42/);
  assert.is(logsOf(base).trim(), 'real-base');
  assert.is((await cli('compose', 'down', '--app', 'hijack-rogue')).code, 0);
});

test("(12) a vendor's images count against its imageStorage, and down removes those no container uses", async () => {
  // Over the quota (1 MiB; the image is 2 MiB): refused with a fix-it message, nothing left behind.
  const tight = tempDir('bulkhead-hijack-quota-');
  fs.writeFileSync(path.join(tight, 'policy.yaml'), `vendors:\n  ${ROGUE}:\n    imageStorage: 1Mi\n`);
  const file = composeFile('quota', `services:\n  app:\n    image: ${VICTIM_IMAGE}\n`);
  const quota = await runCli(['--data-dir', tight, 'compose', 'up', '-f', file, '--vendor', ROGUE, '--image-archive', rogueArchive]);
  assert.is(quota.code, 1);
  // Stopped while streaming: the layers are counted as they unpack, before the engine stores them.
  assert.match(quota.stderr, /^bulkhead: BH_ERR_DEPLOY: .*image\.tar: its layers unpack to more than 1 MiB, more than the vendor's imageStorage allows; raise imageStorage in policy\.yaml/m);
  const rogueNames = () => podman('images', '--format', '{{.Repository}}').split('\n').filter((n) => n.startsWith(`localhost/bh-${vendorDirName(vendorId(ROGUE))}/`));
  assert.equal(rogueNames(), [], 'what the refused archive loaded is gone');
  // The victim's loaded image leaves the engine with its last container.
  const victimNames = () => podman('images', '--format', '{{.Repository}}').split('\n').filter((n) => n.startsWith(`localhost/bh-${vendorDirName(vendorId(VICTIM))}/`));
  assert.is(victimNames().length, 1);
  const id = imageId(podman('images', '--format', '{{.Repository}}:{{.Tag}}').split('\n').find((n) => n.startsWith(`localhost/bh-${vendorDirName(vendorId(VICTIM))}/`))!);
  assert.is((await cli('compose', 'down', '-f', victimCompose(), '--vendor', VICTIM)).code, 0);
  assert.equal(victimNames(), []);
  assert.is(imageId(id), '', 'the image itself was deleted: nobody names it any more');
  assert.ok(imageId(BASE_IMAGE), "the operator's image stays");
});

test.run();
