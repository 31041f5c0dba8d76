// Custom Compose networks on a real engine, inside each vendor's isolation. Two vendors deploy the
// same file — project "plant", a network "backend", a service whose container_name is "db" — and
// neither collides with nor reaches the other: each probe finds its own vendor's db by name, and
// the other vendor's db, addressed directly, does not answer. (The file's networks are the vendor's
// own isolated network; see runtime/bridge/compose-networks.ts for why.) It holds with netavark's
// own isolation rule gone, as netavark itself leaves it whenever another network's last container stops.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { containerName } from '../../runtime/bridge/container-spec.js';
import { deploymentName, vendorNetworkName } from '../../runtime/state/vendor-names.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage, podmanAvailable } from '../../samples/containers/busybox-image.js';
import { runCli, tempDir } from '../support/paths.js';

const dataDir = tempDir('bulkhead-compose-nets-');
const VENDORS = ['Netsplit Alpha', 'Netsplit Beta'];
const cname = (vendor: string, service: string) => containerName(deploymentName(vendorId(vendor), 'plant'), service);

const file = (greeting: string) => `name: plant
services:
  db:
    image: ${BUSYBOX_IMAGE}
    container_name: db
    command: ["sh", "-c", "mkdir -p /tmp/w && echo ${greeting} > /tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w"]
    networks:
      backend: { aliases: [database] }
  probe:
    image: ${BUSYBOX_IMAGE}
    command: ["sleep", "3600"]
    networks: [backend]
networks:
  backend: {}
`;

function writeFor(vendor: string): string {
  const dir = path.join(tempDir(), 'plant');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'compose.yaml'), file(`db-of-${vendor.split(' ')[1]!.toLowerCase()}`));
  return path.join(dir, 'compose.yaml');
}

const compose = (vendor: string, f: string, ...args: string[]) => runCli(['--data-dir', dataDir, 'compose', ...args, '-f', f, '--vendor', vendor]);
const exec = (container: string, script: string) => execFileSync('podman', ['exec', container, 'sh', '-c', script], { encoding: 'utf8' }).trim();

test('hostile: two vendors with the same network name and container_name neither collide nor reach each other', async () => {
  const problem = podmanAvailable();
  if (problem) throw new Error(`this test needs a real Podman engine (.ci/run installs and starts it): ${problem}`);
  ensureBusyboxImage();
  // Each vendor may run the operator's busybox image (images are per vendor).
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:\n${VENDORS.map((v) => `  ${v}:\n    images: ["${BUSYBOX_IMAGE}"]\n`).join('')}`);
  const files = Object.fromEntries(VENDORS.map((v) => [v, writeFor(v)]));
  try {
    for (const v of VENDORS) {
      const up = await compose(v, files[v]!, 'up');
      assert.is(up.code, 0, up.stderr);
    }
    const [alpha, beta] = VENDORS as [string, string];
    for (const v of VENDORS) {
      const net = vendorNetworkName(vendorId(v));
      const info = JSON.parse(execFileSync('podman', ['network', 'inspect', net], { encoding: 'utf8' }))[0];
      assert.is(info.labels['org.bulkhead.vendor'], v);
      assert.is(info.options?.isolate, 'true', 'netavark isolate: no route to other isolated networks');
      const joined = JSON.parse(execFileSync('podman', ['inspect', cname(v, 'db')], { encoding: 'utf8' }))[0].NetworkSettings.Networks;
      assert.equal(Object.keys(joined), [net], `${v}'s backend is its own network`);
    }
    // By name each probe finds its own vendor's db (service name, container_name and alias alike).
    await new Promise((r) => setTimeout(r, 500));
    for (const name of ['db', 'database']) {
      assert.is(exec(cname(alpha, 'probe'), `wget -q -O - http://${name}:8080/`), 'db-of-alpha', name);
      assert.is(exec(cname(beta, 'probe'), `wget -q -O - http://${name}:8080/`), 'db-of-beta', name);
    }
    // By address: the other vendor's db does not answer (and its own does, so the probe works).
    const ipOf = (c: string) => execFileSync('podman', ['inspect', c, '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}'], { encoding: 'utf8' }).trim().split(' ')[0]!;
    const dbB = ipOf(cname(beta, 'db'));
    const dbA = ipOf(cname(alpha, 'db'));
    // One bounded try each (nc -w 2): busybox's wget -T crashes in this image.
    const get = (container: string, ip: string) => exec(container, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${ip} 8080 | tail -1; true`);
    assert.is(get(cname(beta, 'probe'), dbB), 'db-of-beta');
    assert.is(get(cname(alpha, 'probe'), dbB), '', "alpha's custom network has no route to beta's db");
    assert.is(get(cname(beta, 'probe'), dbA), '', "beta's custom network has no route to alpha's db");
    // netavark 1.4 deletes its shared isolation jump whenever the last container of ANY isolated
    // network stops (another vendor's `down`), leaving all isolated networks open to each other.
    // Do that to it here: Bulkhead's own table (network-isolation.ts) must keep the vendors apart.
    const jumps = execFileSync('iptables', ['-S', 'FORWARD'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('-j NETAVARK_ISOLATION_1'));
    for (const rule of jumps) execFileSync('sh', ['-c', `iptables ${rule.replace(/^-A /, '-D ')}`]);
    assert.not.ok(execFileSync('iptables', ['-S', 'FORWARD'], { encoding: 'utf8' }).includes('NETAVARK_ISOLATION_1'));
    assert.ok(execFileSync('nft', ['list', 'table', 'inet', 'bulkhead_isolation'], { encoding: 'utf8' }).includes('drop'));
    assert.is(get(cname(alpha, 'probe'), dbB), '', "without netavark's jump, alpha still has no route to beta's db");
    assert.is(get(cname(beta, 'probe'), dbA), '', "without netavark's jump, beta still has no route to alpha's db");
    assert.is(get(cname(beta, 'probe'), dbB), 'db-of-beta', 'within one vendor traffic still flows');
    // The engine names are the vendors' own: both "db" containers exist side by side.
    const names = execFileSync('podman', ['ps', '--format', '{{.Names}}'], { encoding: 'utf8' }).split('\n');
    assert.ok(names.includes(cname(alpha, 'db')) && names.includes(cname(beta, 'db')));
    assert.not.ok(names.includes('db'));
  } finally {
    for (const v of VENDORS) {
      await compose(v, files[v]!, 'down', '-v');
      try { execFileSync('podman', ['network', 'rm', vendorNetworkName(vendorId(v))], { stdio: 'ignore' }); } catch { /* gone */ }
    }
  }
});

test.run();
