// Hostile: a vendor's services name volumes the file does not declare, or anonymous ones, so that
// the engine creates them unlabelled: `down` would leave them, each renamed volume one more on the
// host's disk (red-team finding 05). Now undeclared ones are refused and anonymous ones are made
// labelled by the bridge, and `down` removes every volume the deployment had. Real Podman.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUSYBOX_IMAGE, ensureBusyboxImage, podmanAvailable } from '../../samples/containers/busybox-image.js';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { deploymentName, vendorNetworkName } from '../../runtime/state/vendor-names.js';
import { runCli, tempDir } from '../support/paths.js';

const VENDOR = 'Volume Leaker';
const dataDir = tempDir('bulkhead-volumes-');
const deployment = deploymentName(vendorId(VENDOR), 'leak');
const volumes = () => execFileSync('podman', ['volume', 'ls', '--format', '{{.Name}}'], { encoding: 'utf8' }).split('\n').filter((v) => v.includes(deployment));

function app(volumesLine: string, topLevel = ''): string {
  const dir = fs.mkdtempSync(path.join(dataDir, 'app-'));
  fs.writeFileSync(path.join(dir, 'compose.yaml'), `name: leak
services:
  filler:
    image: ${BUSYBOX_IMAGE}
    volumes: ${volumesLine}
    command: ["sh", "-c", "echo x > /anon/blob; exec sleep 3600"]
${topLevel}`);
  return path.join(dir, 'compose.yaml');
}
const compose = (verb: string, file: string, ...rest: string[]) => runCli(['--data-dir', dataDir, 'compose', verb, '-f', file, '--vendor', VENDOR, ...rest]);

test.before(() => {
  const problem = podmanAvailable();
  if (problem) throw new Error(`these tests need a real Podman engine (.ci/run installs and starts it): ${problem}`);
  ensureBusyboxImage();
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:\n  ${VENDOR}:\n    limits: { memory: 16Mi, pids: 16 }\n    images: ["${BUSYBOX_IMAGE}"]\n`);
});

test.after(() => {
  const ids = execFileSync('podman', ['ps', '-aq', '--filter', `label=org.bulkhead.vendor=${VENDOR}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
  if (ids.length) spawnSync('podman', ['rm', '-f', '-t', '0', ...ids], { stdio: 'ignore' });
  for (const v of volumes()) spawnSync('podman', ['volume', 'rm', '-f', v], { stdio: 'ignore' });
  spawnSync('podman', ['network', 'rm', vendorNetworkName(vendorId(VENDOR))], { stdio: 'ignore' });
});

test('an undeclared named volume is refused, naming the fix; nothing is created', async () => {
  const file = app('["stash1:/stash", "/anon"]');
  for (const verb of ['check', 'up']) {
    const r = await compose(verb, file);
    assert.is(r.code, 125, r.stdout);
    assert.match(r.stdout + r.stderr, /services\.filler\.volumes\[0\]: names the volume "stash1", which the file does not declare; add it to the top-level volumes: .*\[BH_ERR_COMPOSE_INVALID\]/);
  }
  assert.equal(volumes(), []);
});

test('anonymous and declared volumes are made labelled by the bridge; down keeps them, down -v removes them all', async () => {
  const file = app('["stash:/stash", "/anon", { type: volume, target: /anon2 }]', 'volumes:\n  stash: {}\n');
  const up = await compose('up', file);
  assert.is(up.code, 0, up.stderr);
  const made = volumes();
  assert.is(made.length, 3, made.join(', '));
  for (const v of made) {
    const labels = JSON.parse(execFileSync('podman', ['volume', 'inspect', v], { encoding: 'utf8' }))[0].Labels;
    assert.is(labels['org.bulkhead.vendor'], VENDOR, v);
    assert.is(labels['org.bulkhead.deployment'], deployment, v);
  }
  assert.is((await compose('down', file)).code, 0);
  assert.equal(volumes(), made, 'down keeps the volumes (docker compose down does)');
  assert.is((await compose('up', file)).code, 0);
  assert.is((await compose('down', file, '-v')).code, 0);
  assert.equal(volumes(), [], 'down -v left no volume behind');
});

test.run();
