// Hostile: a vendor multiplies its share by its number of services (limits are per container;
// red-team finding 08) and fills the host's disk through its containers' logs (finding 03). Now the
// vendor's totals cap the sum over all its deployments, and each container's log has a size cap.
// Real Podman, the real CLI.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUSYBOX_IMAGE, ensureBusyboxImage, podmanAvailable } from '../../samples/containers/busybox-image.js';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { containerName } from '../../runtime/bridge/container-spec.js';
import { deploymentName, vendorNetworkName } from '../../runtime/state/vendor-names.js';
import { runCli, tempDir } from '../support/paths.js';

const VENDOR = 'Totals Hog';
const dataDir = tempDir('bulkhead-totals-');

function app(project: string, services: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(dataDir, `${project}-`));
  fs.writeFileSync(path.join(dir, 'compose.yaml'), `name: ${project}\nservices:\n${Object.entries(services)
    .map(([name, command]) => `  ${name}:\n    image: ${BUSYBOX_IMAGE}\n    command: ["sh", "-c", ${JSON.stringify(command)}]\n`).join('')}`);
  return path.join(dir, 'compose.yaml');
}
const compose = (verb: string, file: string) => runCli(['--data-dir', dataDir, 'compose', verb, '-f', file, '--vendor', VENDOR]);

test.before(() => {
  const problem = podmanAvailable();
  if (problem) throw new Error(`these tests need a real Podman engine (.ci/run installs and starts it): ${problem}`);
  ensureBusyboxImage();
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:
  ${VENDOR}:
    limits: { memory: 32Mi, cpus: 0.25, pids: 32 }
    logs: { maxSize: 64Ki, maxFiles: 1 }
    totals: { containers: 3, memory: 80Mi }
    images: ["${BUSYBOX_IMAGE}"]
`);
});

test.after(() => {
  const ids = execFileSync('podman', ['ps', '-aq', '--filter', `label=org.bulkhead.vendor=${VENDOR}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
  if (ids.length) spawnSync('podman', ['rm', '-f', '-t', '0', ...ids], { stdio: 'ignore' });
  spawnSync('podman', ['network', 'rm', vendorNetworkName(vendorId(VENDOR))], { stdio: 'ignore' });
});

test("a vendor's second deployment that would pass its totals is refused; its first keeps working", async () => {
  const first = app('first', { a: 'exec sleep 3600', b: 'exec sleep 3600' });
  assert.is((await compose('up', first)).code, 0);
  const second = app('second', { c: 'exec sleep 3600', d: 'exec sleep 3600' });
  const r = await compose('up', second);
  assert.is(r.code, 1);
  assert.match(r.stderr, /\[vendor-total\] Totals Hog's containers would hold 4 containers \(cap 3\), 128 MiB of memory \(cap 80 MiB\) with this deployment \(2 in its other deployments\); lower the services' limits, remove a deployment, or raise vendors\.Totals Hog\.totals/);
  assert.is(execFileSync('podman', ['ps', '-aq', '--filter', `label=org.bulkhead.deployment=${deploymentName(vendorId(VENDOR), 'second')}`], { encoding: 'utf8' }).trim(), '');
  // The first deployment's own containers are not counted twice: up again is fine.
  const again = await compose('up', first);
  assert.is(again.code, 0, again.stderr);
  assert.is((await compose('down', first)).code, 0);
});

test("a container's log is capped: 20 MB written leave a log of at most a few times the 64 KiB cap (no logging: key in the file)", async () => {
  const file = app('chatty', { spew: 'yes 0123456789012345678901234567890123456789 | head -c 20000000; exec sleep 3600' });
  assert.is((await compose('up', file)).code, 0);
  const name = containerName(deploymentName(vendorId(VENDOR), 'chatty'), 'spew');
  await new Promise((r) => setTimeout(r, 3000));
  const info = JSON.parse(execFileSync('podman', ['inspect', name], { encoding: 'utf8' }))[0];
  const size = fs.statSync(info.HostConfig.LogConfig.Path).size;
  assert.ok(size <= 4 * 64 * 1024, `log file ${size} bytes`);
  assert.is((await compose('down', file)).code, 0);
});

test.run();
