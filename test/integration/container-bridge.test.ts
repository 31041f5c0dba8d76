// The container bridge against a real Podman engine over the Docker Engine API (.ci/run starts it;
// DOCKER_HOST names its socket). The test image is busybox-static imported locally.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUSYBOX_IMAGE, ensureBusyboxImage, podmanAvailable } from '../../samples/containers/busybox-image.js';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { containerName } from '../../runtime/bridge/container-spec.js';
import { deploymentName, vendorNetworkName } from '../../runtime/state/vendor-names.js';
import { runCli, tempDir } from '../support/paths.js';

const IMAGE = BUSYBOX_IMAGE;
const dataDir = tempDir('bulkhead-bridge-');
const VENDOR_A = 'Bridge Test A';
const VENDOR_B = 'Bridge Test B';
/** The engine name of a service's container, as the bridge derives it. */
const cname = (vendor: string, project: string, service: string) => containerName(deploymentName(vendorId(vendor), project), service);
const A_WEB = cname(VENDOR_A, 'shop', 'web');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

let portA = 0;
let portB = 0;

test.before(async () => {
  const problem = podmanAvailable();
  if (problem) throw new Error(`these tests need a real Podman engine (.ci/run installs and starts it): ${problem}`);
  ensureBusyboxImage();
  portA = await freePort();
  portB = await freePort();
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:
  ${VENDOR_A}:
    ports: { from: ${portA}, to: ${portA} }
    limits: { memory: 48Mi, cpus: 0.5, pids: 64 }
    images: ["${IMAGE}"]
  ${VENDOR_B}:
    ports: { from: ${portB}, to: ${portB} }
    images: ["${IMAGE}"]
`);
});

test.after(async () => {
  for (const v of [VENDOR_A, VENDOR_B]) {
    const ids = execFileSync('podman', ['ps', '-aq', '--filter', `label=org.bulkhead.vendor=${v}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    if (ids.length) execFileSync('podman', ['rm', '-f', '-t', '0', ...ids], { stdio: 'ignore' });
    try { execFileSync('podman', ['network', 'rm', vendorNetworkName(vendorId(v))], { stdio: 'ignore' }); } catch { /* already gone */ }
  }
});

function writeApp(name: string, compose: string): string {
  const dir = path.join(tempDir(), name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'compose.yaml'), compose);
  return path.join(dir, 'compose.yaml');
}

const webApp = (port: number, greeting: string) => `name: shop
services:
  web:
    image: ${IMAGE}
    command: ["sh", "-c", "mkdir -p /tmp/www && echo ${greeting} > /tmp/www/index.html && httpd -f -p 8080 -h /tmp/www"]
    ports: ["${port}:8080"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
      interval: 1s
      retries: 20
  worker:
    image: ${IMAGE}
    command: ["sh", "-c", "wget -q -O - http://web:8080/ && exec sleep 3600"]
    depends_on:
      web: { condition: service_healthy }
`;

const bridge = (file: string, vendor: string, ...args: string[]) => runCli(['--data-dir', dataDir, 'compose', ...args, '-f', file, '--vendor', vendor]);

test('a two-service app comes up in dependency order; its web service answers on 127.0.0.1', async () => {
  const file = writeApp('shop', webApp(portA, 'hello-v1'));
  const up = await bridge(file, VENDOR_A, 'up', '--json');
  assert.is(up.code, 0, up.stderr);
  assert.equal(JSON.parse(up.stdout).actions, [{ service: 'web', action: 'created' }, { service: 'worker', action: 'created' }]);
  const res = await fetch(`http://127.0.0.1:${portA}/`);
  assert.is((await res.text()).trim(), 'hello-v1');
  const ps = JSON.parse((await bridge(file, VENDOR_A, 'ps', '--json')).stdout);
  assert.equal(ps.map((s: { service: string; state: string; health: string | null }) => [s.service, s.state, s.health]), [['web', 'running', 'healthy'], ['worker', 'running', null]]);
  const logs = await bridge(file, VENDOR_A, 'logs', 'worker');
  assert.match(logs.stdout, /worker \| hello-v1/, 'the worker reached web by its service name once web was healthy');
});

test('up is idempotent; a changed service is recreated alone', async () => {
  const file = writeApp('shop', webApp(portA, 'hello-v1'));
  const again = JSON.parse((await bridge(file, VENDOR_A, 'up', '--json')).stdout);
  assert.equal(again.actions, [{ service: 'web', action: 'unchanged' }, { service: 'worker', action: 'unchanged' }]);
  const changed = writeApp('shop', webApp(portA, 'hello-v2'));
  const update = JSON.parse((await bridge(changed, VENDOR_A, 'up', '--json')).stdout);
  assert.equal(update.actions, [{ service: 'web', action: 'recreated' }, { service: 'worker', action: 'unchanged' }]);
  assert.is((await (await fetch(`http://127.0.0.1:${portA}/`)).text()).trim(), 'hello-v2');
});

test('limits and confinement are really applied (inspected on the engine)', async () => {
  const info = JSON.parse(execFileSync('podman', ['inspect', A_WEB], { encoding: 'utf8' }))[0];
  assert.is(info.HostConfig.Memory, 48 * 1024 * 1024);
  assert.is(info.HostConfig.NanoCpus, 5e8);
  assert.is(info.HostConfig.PidsLimit, 64);
  assert.ok(info.HostConfig.SecurityOpt.includes('no-new-privileges'));
  assert.equal(info.Config.Labels['org.bulkhead.vendor'], VENDOR_A);
  assert.match(info.Config.Labels['org.bulkhead.spec-hash'], /^[0-9a-f]{32}$/);
  // Every capability dropped: the container's bounding set is empty.
  const capBnd = execFileSync('podman', ['exec', A_WEB, 'grep', 'CapBnd', '/proc/1/status'], { encoding: 'utf8' });
  assert.match(capBnd, /CapBnd:\s+0000000000000000/);
});

test("two vendors' containers cannot reach each other", async () => {
  const file = writeApp('probe', `services:
  probe:
    image: ${IMAGE}
    command: ["sleep", "3600"]
`);
  const up = await bridge(file, VENDOR_B, 'up');
  assert.is(up.code, 0, up.stderr);
  const ipA = execFileSync('podman', ['inspect', A_WEB, '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'], { encoding: 'utf8' }).trim();
  assert.match(ipA, /^\d+\.\d+\.\d+\.\d+$/);
  const attempt = (container: string) => execFileSync('podman', ['exec', container, 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${ipA} 8080 | tail -1; true`], { encoding: 'utf8' }).trim();
  assert.is(attempt(cname(VENDOR_A, 'shop', 'worker')), 'hello-v2', 'same vendor: reachable (so the probe itself works)');
  assert.is(attempt(cname(VENDOR_B, 'probe', 'probe')), '', 'other vendor: no answer');
  assert.is((await bridge(file, VENDOR_B, 'down')).code, 0);
});

test('down removes exactly what the deployment owns', async () => {
  // A bystander that carries this deployment's derived name as its label, but another vendor's
  // exact name: ownership is the exact vendor, so down leaves it alone.
  const deployment = deploymentName(vendorId(VENDOR_A), 'shop');
  execFileSync('podman', ['run', '-d', '--name', 'bh-bridge-test-a-shop-bystander', '--label', 'org.bulkhead.vendor=someone-else',
    '--label', 'org.bulkhead.managed=true', '--label', `org.bulkhead.deployment=${deployment}`, '--label', 'org.bulkhead.project=shop', IMAGE, 'sleep', '3600'], { stdio: 'ignore' });
  try {
    const file = writeApp('shop', webApp(portA, 'hello-v2'));
    const down = JSON.parse((await bridge(file, VENDOR_A, 'down', '--json')).stdout);
    assert.equal(down.removed, ['worker', 'web']);
    const left = execFileSync('podman', ['ps', '-a', '--format', '{{.Names}}'], { encoding: 'utf8' });
    assert.match(left, /bh-bridge-test-a-shop-bystander/);
    assert.not.ok(left.split('\n').includes(A_WEB));
  } finally {
    execFileSync('podman', ['rm', '-f', '-t', '0', 'bh-bridge-test-a-shop-bystander'], { stdio: 'ignore' });
  }
});

test('docker compose habits: up -d, ps with a header and columns, orphans kept unless --remove-orphans, down -v, the project label', async () => {
  const dir = path.join(tempDir(), 'habits');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'compose.yaml'), `name: habits
services:
  web:
    image: ${IMAGE}
    command: ["sleep", "3600"]
    ports: ["${portB}:8080"]
    volumes: ["state:/state"]
  helper:
    image: ${IMAGE}
    command: ["sleep", "3600"]
volumes:
  state: {}
`);
  const compose = (...args: string[]) => runCli(['--data-dir', dataDir, 'compose', ...args, '--vendor', VENDOR_B], { cwd: dir });
  try {
    const up = await compose('up', '-d');
    assert.is(up.code, 0, up.stderr);
    const ps = await compose('ps');
    const [header, ...rows] = ps.stdout.trim().split('\n');
    assert.match(header!, /^NAME\s+IMAGE\s+SERVICE\s+STATUS\s+PORTS$/);
    const web = rows.find((r) => r.includes(' web '))!;
    assert.match(web, new RegExp(`running\\s+127\\.0\\.0\\.1:${portB}->8080/tcp$`));
    assert.ok(web.includes(IMAGE.split(':')[0]!), web);
    const info = JSON.parse(execFileSync('podman', ['inspect', cname(VENDOR_B, 'habits', 'web')], { encoding: 'utf8' }))[0];
    assert.is(info.Config.Labels['com.docker.compose.project'], 'habits');
    assert.is(info.Config.Labels['org.bulkhead.deployment'], deploymentName(vendorId(VENDOR_B), 'habits'));
    // helper leaves the file: without --remove-orphans it keeps running, with a warning.
    fs.writeFileSync(path.join(dir, 'compose.yaml'), fs.readFileSync(path.join(dir, 'compose.yaml'), 'utf8').replace(/  helper:\n.*\n.*\n/, ''));
    const again = await compose('up');
    assert.is(again.code, 0, again.stderr);
    assert.match(again.stderr, /warning: container for service "helper" is not in the Compose files \(an orphan\); remove it with --remove-orphans/);
    assert.match(execFileSync('podman', ['ps', '--format', '{{.Names}}'], { encoding: 'utf8' }), new RegExp(cname(VENDOR_B, 'habits', 'helper')));
    const pruned = JSON.parse((await compose('up', '--remove-orphans', '--json')).stdout);
    assert.ok(pruned.actions.some((a: { service: string; action: string }) => a.service === 'helper' && a.action === 'removed'), JSON.stringify(pruned));
    // down keeps named volumes; down -v removes them.
    const volume = `bh-${deploymentName(vendorId(VENDOR_B), 'habits')}-state`;
    assert.is((await compose('down')).code, 0);
    assert.ok(execFileSync('podman', ['volume', 'ls', '--format', '{{.Name}}'], { encoding: 'utf8' }).split('\n').includes(volume));
    assert.is((await compose('up')).code, 0);
    const down = JSON.parse((await compose('down', '-v', '--json')).stdout);
    assert.equal(down.volumes, [volume]);
    assert.not.ok(execFileSync('podman', ['volume', 'ls', '--format', '{{.Name}}'], { encoding: 'utf8' }).split('\n').includes(volume));
  } finally {
    await compose('down', '-v');
  }
});

test('every policy rejection stops `up` before the engine creates anything', async () => {
  // One service per rule, so each refusal is attributed to its own service and rule.
  const cases: Record<string, [string, string]> = {
    privileged: ['privileged', 'privileged: true'],
    hostnet: ['network_mode', 'network_mode: host'],
    hostpid: ['pid', 'pid: host'],
    hostipc: ['ipc', 'ipc: host'],
    hostuserns: ['userns_mode', 'userns_mode: host'],
    device: ['devices', 'devices: ["/dev/null:/dev/x"]'],
    outside: ['bind-mount', 'volumes: ["/etc:/host-etc:ro"]'],
    socket: ['engine-socket', 'volumes: ["/run/podman/podman.sock:/engine.sock"]'],
    caps: ['cap_add', 'cap_add: [SYS_ADMIN]'],
    seccomp: ['security_opt', 'security_opt: ["seccomp=unconfined"]'],
    portrange: ['ports', 'ports: ["1:80"]'],
    address: ['ports', `ports: ["0.0.0.0:${portA}:80"]`],
  };
  const yaml = 'services:\n' + Object.entries(cases).map(([name, [, line]]) => `  ${name}:\n    image: ${IMAGE}\n    ${line}\n`).join('');
  const file = writeApp('evil', yaml);
  const r = await bridge(file, VENDOR_A, 'up');
  assert.is(r.code, 1);
  // One line per violation, each headed by the refusal (README: one line per error).
  assert.match(r.stderr, /^bulkhead: BH_ERR_POLICY: refused by the isolation policy: .*compose\.yaml:\d+: services\./m);
  for (const [name, [rule]] of Object.entries(cases)) assert.match(r.stderr, new RegExp(`compose\\.yaml:\\d+: services\\.${name}\\.[^\\n]*\\[BH_ERR_POLICY ${rule}\\]`), name);
  const names = execFileSync('podman', ['ps', '-a', '--format', '{{.Names}}'], { encoding: 'utf8' });
  assert.not.match(names, /evil/);
  // Image pinning, when the operator requires it, refuses a tag.
  const strictDir = tempDir('bulkhead-strict-');
  fs.writeFileSync(path.join(strictDir, 'policy.yaml'), `vendors:\n  ${VENDOR_A}:\n    requireImageDigest: true\n`);
  const pinned = await runCli(['--data-dir', strictDir, 'compose', 'up', '-f', writeApp('tagged', `services:\n  app:\n    image: ${IMAGE}\n`), '--vendor', VENDOR_A]);
  assert.match(pinned.stderr, /services\.app\.image: image "[^"]+" must be pinned by digest \(name@sha256:\.\.\.\) \[BH_ERR_POLICY image-digest\]/);
});

test('a taken host port is a clear per-service error; what was created stays labelled and down removes it', async () => {
  const blocker = net.createServer().listen(portA, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  try {
    const file = writeApp('shop', webApp(portA, 'hello-v3'));
    const r = await bridge(file, VENDOR_A, 'up');
    assert.is(r.code, 1);
    assert.match(r.stderr, /services\.web: failed to start: port already taken/);
    const labelled = execFileSync('podman', ['ps', '-a', '--filter', `label=org.bulkhead.deployment=${deploymentName(vendorId(VENDOR_A), 'shop')}`, '--format', '{{.Names}}'], { encoding: 'utf8' });
    assert.ok(labelled.split('\n').includes(A_WEB), labelled);
    const down = JSON.parse((await bridge(file, VENDOR_A, 'down', '--json')).stdout);
    assert.equal(down.removed, ['web']);
  } finally {
    blocker.close();
  }
});

test('file secrets are mounted read-only and not world-readable; image archives load before up', async () => {
  const dir = path.join(tempDir(), 'secretive');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'token.txt'), 's3cret-token\n');
  execFileSync('podman', ['tag', IMAGE, 'localhost/bulkhead-archive-test:1']);
  const archive = path.join(dir, 'image.tar');
  execFileSync('podman', ['save', '-o', archive, 'localhost/bulkhead-archive-test:1'], { stdio: 'ignore' });
  execFileSync('podman', ['rmi', 'localhost/bulkhead-archive-test:1'], { stdio: 'ignore' });
  fs.writeFileSync(path.join(dir, 'compose.yaml'), `services:
  app:
    image: localhost/bulkhead-archive-test:1
    command: ["sh", "-c", "cat /run/secrets/token; stat -c %a /run/secrets/token; echo x > /run/secrets/token || echo read-only; exec sleep 3600"]
    secrets: [token]
secrets:
  token:
    file: ./token.txt
`);
  const file = path.join(dir, 'compose.yaml');
  try {
    const up = await bridge(file, VENDOR_A, 'up', '--image-archive', archive);
    assert.is(up.code, 0, up.stderr);
    await new Promise((r) => setTimeout(r, 500));
    const logs = (await bridge(file, VENDOR_A, 'logs')).stdout;
    assert.match(logs, /app \| s3cret-token/);
    assert.match(logs, /app \| 400/);
    assert.match(logs, /app \| read-only/);
  } finally {
    await bridge(file, VENDOR_A, 'down');
    try { execFileSync('podman', ['rmi', '-f', 'localhost/bulkhead-archive-test:1'], { stdio: 'ignore' }); } catch { /* already gone */ }
  }
});

test('a compose component of an installed, signed package deploys with its Margo parameters as environment', async () => {
  const { craftTarGz, makeKey, makePackage } = await import('../support/package-fixtures.js');
  const compose = `services:
  web:
    image: ${IMAGE}
    command: ["sh", "-c", "mkdir -p /tmp/www && echo \\"$$GREETING from $$SITE\\" > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"]
    environment:
      SITE: plant-7
    ports: ["${portA}:8080"]
`;
  const archive = fs.readFileSync(craftTarGz(path.join(tempDir(), 'web.tar.gz'), [
    { path: 'storefront/', type: 'Directory' }, { path: 'storefront/compose.yaml', data: compose },
  ]));
  const pkg = await makePackage({
    id: 'shopapp', version: '1.0.0', vendor: VENDOR_A, files: { 'compose/storefront.tar.gz': archive },
    manifestExtra: `  - type: compose
    components:
      - name: storefront
        properties:
          archive: compose/storefront.tar.gz
parameters:
  greeting:
    value: hello
    targets:
      - pointer: GREETING
        components: [storefront]
`,
  });
  const key = await makeKey();
  assert.is((await runCli(['sign', pkg, '-k', key.secretFile])).code, 0);
  await runCli(['--data-dir', dataDir, 'trust', 'add', key.publicFile, '--vendor', VENDOR_A]);
  const install = await runCli(['--data-dir', dataDir, 'install', pkg]);
  assert.is(install.code, 0, install.stderr);
  const app = (...args: string[]) => runCli(['--data-dir', dataDir, 'compose', ...args, '--app', 'shopapp']);
  try {
    const up = await app('up', '--param', 'greeting=moin');
    assert.is(up.code, 0, up.stderr);
    await new Promise((r) => setTimeout(r, 500));
    assert.is((await (await fetch(`http://127.0.0.1:${portA}/`)).text()).trim(), 'moin from plant-7');
    const info = JSON.parse(execFileSync('podman', ['inspect', cname(VENDOR_A, 'shopapp-storefront', 'web')], { encoding: 'utf8' }))[0];
    assert.is(info.Config.Labels['org.bulkhead.app'], 'shopapp');
    const unknown = await app('up', '--param', 'nope=1');
    assert.is(unknown.code, 125);
    assert.match(unknown.stderr, /--param nope: shopapp declares no parameter "nope"/);
  } finally {
    assert.is((await app('down')).code, 0);
  }
});

test('engine unreachable and missing image: clear errors', async () => {
  const file = writeApp('missing', `services:\n  app:\n    image: localhost/does-not-exist:1\n`);
  const missing = await bridge(file, VENDOR_A, 'up');
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /\[image\] services\.app: image "localhost\/does-not-exist:1" was not loaded by Bridge Test A nor allowed for it; ship it as an image archive/);
  const down = await runCli(['--data-dir', dataDir, 'compose', 'up', '-f', file, '--vendor', VENDOR_A, '--host', 'unix:///nonexistent.sock']);
  assert.is(down.code, 1);
  assert.match(down.stderr, /container engine at \/nonexistent\.sock is unreachable/);
});

test.run();
