// Another vendor's containers are not reachable from a wasm app by their addresses. The device
// routes to its container networks, so under the operator's "*:8080" (meant for some host on the
// plant network) a hostile vendor's component connected straight to the victim vendor's container
// on its unpublished port 8080, past the isolation between the engine's networks. The engine's
// network subnets are protected addresses now. Real Podman, a real daemon, signed packages.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { packPackage } from '../../packages/archive/pack-package.js';
import { formatPublicKey, generateKeyPair } from '../../packages/signing/minisign.js';
import { signPackageFile } from '../../packages/signing/package-signature.js';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { containerName } from '../../runtime/bridge/container-spec.js';
import { deploymentName } from '../../runtime/state/vendor-names.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage, podmanAvailable } from '../../samples/containers/busybox-image.js';
import { runCli, sample, tempDir } from '../support/paths.js';

const dataDir = tempDir('bulkhead-container-addr-');
const cli = (...args: string[]) => runCli(['--data-dir', dataDir, ...args]);
const VICTIM = 'Victim Works';
const ROGUE = 'Rogue Labs';

async function installProbe(targets: Record<string, string>): Promise<void> {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'components'));
  fs.copyFileSync(sample('net-c/build/net-probe.wasm'), path.join(dir, 'components', 'net-probe.wasm'));
  const params = { ...targets, probes: Object.keys(targets).join(',') };
  const parameters = Object.entries(params).map(([k, v]) => `  ${k}:\n    value: "${v}"\n    targets: [{ pointer: ${k}, components: [probe] }]`).join('\n');
  fs.writeFileSync(path.join(dir, 'margo.yaml'), `apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
metadata: { id: container-probe, name: Probe, version: 1.0.0, catalog: { organization: [{ name: ${ROGUE} }] } }
deploymentProfiles:
  - type: x-bulkhead-wasm
    components:
      - name: probe
        properties:
          module: components/net-probe.wasm
          capabilities: { net: { connect: ["*:8080"] } }
parameters:
${parameters}
`);
  const file = path.join(tempDir(), 'container-probe.bhpkg');
  await packPackage(dir, file);
  const key = await generateKeyPair();
  fs.writeFileSync(`${file}.pub`, formatPublicKey(key));
  await signPackageFile(file, key, { id: 'container-probe', version: '1.0.0', vendor: ROGUE }, `${file}.minisig`);
  assert.is((await cli('trust', 'add', `${file}.pub`, '--vendor', ROGUE)).code, 0);
  const r = await cli('install', file);
  assert.is(r.code, 0, r.stderr);
}

test('hostile: under *:8080 a wasm app cannot reach another vendor\'s container on its unpublished port; refused and audited', async () => {
  const problem = podmanAvailable();
  if (problem) throw new Error(`this test needs a real Podman engine (.ci/run installs and starts it): ${problem}`);
  ensureBusyboxImage();
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:\n  ${VICTIM}: { images: ["${BUSYBOX_IMAGE}"] }\n  ${ROGUE}:\n    images: ["${BUSYBOX_IMAGE}"]\n    wasm:\n      netConnect: ["*:8080"]\n`);
  const composeDir = tempDir();
  fs.writeFileSync(path.join(composeDir, 'compose.yaml'), `name: plant-db
services:
  db:
    image: ${BUSYBOX_IMAGE}
    command: ["sh", "-c", "mkdir -p /tmp/w && echo victim-data > /tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w"]
`);
  const compose = (...args: string[]) => cli('compose', ...args, '-f', path.join(composeDir, 'compose.yaml'), '--vendor', VICTIM);
  const up = await compose('up');
  assert.is(up.code, 0, up.stderr);
  try {
    const cname = containerName(deploymentName(vendorId(VICTIM), 'plant-db'), 'db');
    const ip = execFileSync('podman', ['inspect', cname, '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'], { encoding: 'utf8' }).trim();
    assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/, `${cname} has an address on its network`);
    await installProbe({ 'tcp-container': `${ip}:8080`, 'http-container': `${ip}:8080` });
    const r = await cli('start', 'container-probe', '--wait');
    assert.is(r.code, 0, r.stdout + r.stderr);
    const lines = JSON.parse(`[${(await cli('logs', 'container-probe', '--json')).stdout.trim().split('\n').join(',')}]`).map((l: { message: string }) => l.message);
    assert.equal(lines.filter((l: string) => /^(tcp|http) /.test(l)), [
      'tcp container: connect refused (access-denied)',
      'http container: refused (destination-IP-prohibited)',
    ], lines.join('\n'));
    const audit = JSON.parse((await cli('audit', '--app', 'container-probe', '--json')).stdout).events as { attempted: string; reason: string }[];
    assert.ok(audit.some((e) => e.attempted === `${ip}:8080` && /in a container network on this device/.test(e.reason)), JSON.stringify(audit));
    assert.ok(audit.some((e) => e.attempted === `GET http://${ip}:8080/reading` && /in a container network/.test(e.reason)), JSON.stringify(audit));
  } finally {
    await cli('daemon', '--stop');
    await compose('down');
  }
});

test.run();
