import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyProfiles, ComposeError, loadComposeText } from '../../runtime/bridge/compose-file.js';
import { interpolateString, InterpolationError, parseDotEnv } from '../../runtime/bridge/compose-interpolation.js';
import { applyContainerPolicy, defaultVendorPolicy, parseMount, parsePort, type VendorContainerPolicy } from '../../runtime/bridge/container-policy.js';

const root = '/var/lib/bulkhead/vendors/acme';
const policy: VendorContainerPolicy = {
  ...defaultVendorPolicy(root), ports: { from: 20000, to: 20009 }, capAdd: ['NET_BIND_SERVICE'],
};

function problems(text: string, vars: Record<string, string> = {}): string[] {
  try {
    loadComposeText(text, 'compose.yaml', vars);
  } catch (err) {
    assert.instance(err, ComposeError);
    return (err as ComposeError).problems;
  }
  throw new Error('expected a ComposeError');
}

test('interpolation: defaults, required, alternatives, $$', () => {
  const vars = { SET: 'v', EMPTY: '' };
  assert.is(interpolateString('${SET}-$SET-${UNSET:-d}-${EMPTY:-e}-${EMPTY-f}-${SET:+alt}-$$HOME', vars, 'x'), 'v-v-d-e--alt-$HOME');
  assert.throws(() => interpolateString('${NEED:?set NEED please}', vars, 'services.web.image'), (e: Error) => e instanceof InterpolationError && e.message === 'services.web.image: required variable NEED is missing a value: set NEED please');
});

test('.env files', () => {
  assert.equal(parseDotEnv('# c\nA=1\nexport B="two words"\nC=\'x y\'\nD=plain # trailing\n'), { A: '1', B: 'two words', C: 'x y', D: 'plain' });
  assert.throws(() => parseDotEnv('not a pair\n', 'app.env'), /app\.env:1: expected KEY=VALUE/);
});

test('anchors and merge keys work; version is accepted with a warning', () => {
  const { file, warnings } = loadComposeText(`version: "3"
x-base: &base
  image: busybox
  read_only: true
services:
  a:
    <<: *base
    command: ["true"]
`, 'compose.yaml');
  assert.equal(file.services.a, { image: 'busybox', read_only: true, command: ['true'] });
  assert.match(warnings[0]!, /version.*obsolete and ignored/);
});

test('build: and unknown keys are clear errors naming the key', () => {
  const p = problems('services:\n  web:\n    build: .\n    scale: 3\n    deploy: { mode: global }\n');
  assert.ok(p.some((x) => x.startsWith('services.web.build: images cannot be built on a device; ship an image')), p.join('\n'));
  assert.ok(p.includes('services.web.scale: not supported by the Bulkhead container bridge'), p.join('\n'));
  assert.ok(p.includes('services.web.deploy.mode: not supported by the Bulkhead container bridge'), p.join('\n'));
});

test('schema and type errors carry the path in the file', () => {
  const p = problems('services:\n  web:\n    image: busybox\n    read_only: "sometimes"\n    stop_signal: [1]\n');
  assert.ok(p.includes('services.web.read_only: "sometimes" is not a boolean (true or false)'), p.join('\n'));
  assert.ok(p.includes('services.web.stop_signal: must be string'), p.join('\n'));
});

test('port and volume syntaxes', () => {
  assert.equal(parsePort('127.0.0.1:20001:80/udp'), { hostIp: '127.0.0.1', published: 20001, target: 80, protocol: 'udp' });
  assert.equal(parsePort('20001:80'), { published: 20001, target: 80, protocol: 'tcp' });
  assert.equal(parsePort('80'), { target: 80, protocol: 'tcp' });
  assert.equal(parsePort({ target: 80, published: '20002', host_ip: '::1' }), { target: 80, published: 20002, hostIp: '::1', protocol: 'tcp' });
  assert.equal(parseMount('./data:/data:ro', '/base'), { type: 'bind', source: '/base/data', target: '/data', readOnly: true });
  assert.equal(parseMount('cache:/cache', '/base'), { type: 'volume', source: 'cache', target: '/cache', readOnly: false });
});

test('each rule refuses with the service and the rule named', () => {
  const { file } = loadComposeText(`services:
  bad:
    image: busybox
    privileged: true
    network_mode: host
    ipc: host
    userns_mode: host
    devices: ["/dev/ttyUSB0"]
    cap_add: [SYS_ADMIN]
    security_opt: ["apparmor=unconfined", "no-new-privileges:false"]
    ports: ["0.0.0.0:20001:80", "30000:80"]
    volumes: ["/run/podman/podman.sock:/sock", "/etc/shadow:/s:ro"]
`, 'compose.yaml');
  const { violations, services } = applyContainerPolicy(file, policy, `${root}/deployments/app`);
  const rules = violations.map((v) => v.rule).sort();
  assert.equal(rules, ['bind-mount', 'cap_add', 'devices', 'engine-socket', 'ipc', 'network_mode', 'ports', 'ports', 'privileged', 'security_opt', 'security_opt', 'userns_mode'].sort());
  assert.ok(violations.every((v) => v.service === 'bad' && v.message.startsWith('services.bad: ')));
  assert.equal(services, [], 'nothing is enforced while there are violations');
});

test('a compliant service gets ALL dropped, no-new-privileges, ports bound to the allowed address, limits defaulted or capped', () => {
  const { file } = loadComposeText(`services:
  web:
    image: busybox
    cap_add: [net_bind_service]
    ports: ["20001:8080"]
    volumes: ["./data:/data", "cache:/cache"]
    deploy: { resources: { limits: { memory: 4g, cpus: "0.5" } } }
volumes:
  cache: {}
`, 'compose.yaml');
  const { violations, services } = applyContainerPolicy(file, policy, `${root}/deployments/app`);
  assert.equal(violations, []);
  const web = services[0]!;
  assert.equal(web.capDrop, ['ALL']);
  assert.equal(web.capAdd, ['NET_BIND_SERVICE']);
  assert.equal(web.securityOpt, ['no-new-privileges']);
  assert.equal(web.ports, [{ hostIp: '127.0.0.1', published: 20001, target: 8080, protocol: 'tcp' }]);
  assert.is(web.memoryBytes, 256 * 1024 * 1024, 'capped to the policy');
  assert.is(web.nanoCpus, 5e8, 'under the cap: kept');
  assert.is(web.pids, 256, 'absent: defaulted');
  assert.equal(web.mounts[0], { type: 'bind', source: `${root}/deployments/app/data`, target: '/data', readOnly: false });
});

test('network options the bridge cannot honour, non-file secrets and volume drivers are errors naming the key', () => {
  const p = problems(`services:
  web:
    image: busybox
    networks:
      backend: { link_local_ips: ["169.254.1.1"] }
networks:
  backend:
    name: shared-with-everyone
    driver: macvlan
secrets:
  token:
    environment: TOKEN
volumes:
  data:
    driver: nfs
`);
  assert.ok(p.some((x) => x.startsWith("networks.backend.name: engine network names are made from the vendor's identity")), p.join('\n'));
  assert.ok(p.some((x) => x.startsWith('networks.backend.driver: driver "macvlan"')), p.join('\n'));
  assert.ok(p.includes('services.web.networks.backend.link_local_ips: not supported by the Bulkhead container bridge'), p.join('\n'));
  assert.ok(p.includes('secrets.token: only file-based secrets shipped in the package are supported'), p.join('\n'));
  assert.ok(p.some((x) => x.startsWith('volumes.data.driver: not supported')), p.join('\n'));
});

test('an external network is refused by the isolation policy; custom networks join with the service and container names', () => {
  const { file } = loadComposeText(`services:
  db:
    image: busybox
    container_name: db
    networks:
      backend: { aliases: [database] }
  web:
    image: busybox
    networks: [frontend, shared]
networks:
  backend: {}
  frontend: {}
  shared: { external: true }
`, 'compose.yaml');
  const { violations } = applyContainerPolicy(file, policy, root);
  assert.equal(violations.map((v) => [v.service, v.rule]), [['web', 'external-network']]);
  const ok = applyContainerPolicy({ ...file, services: { db: file.services.db! } }, policy, root);
  assert.equal(ok.services[0]!.networks, [{ name: 'backend', aliases: ['database', 'db'] }]);
  assert.ok(ok.services[0]!.adjustments.some((a) => /container_name db is its DNS name/.test(a)));
});

test('profiles: inactive services are left out; depending on one is an error', () => {
  const { file } = loadComposeText('services:\n  web:\n    image: busybox\n  debug:\n    image: busybox\n    profiles: [debug]\n', 'compose.yaml');
  assert.equal(Object.keys(applyProfiles(file, [], 'compose.yaml').services), ['web']);
  assert.equal(Object.keys(applyProfiles(file, ['debug'], 'compose.yaml').services), ['web', 'debug']);
  const { file: dep } = loadComposeText('services:\n  web:\n    image: busybox\n    depends_on: [debug]\n  debug:\n    image: busybox\n    profiles: [debug]\n', 'compose.yaml');
  assert.throws(() => applyProfiles(dep, [], 'compose.yaml'), /services\.web\.depends_on: debug is only in profiles \["debug"\]/);
});

test('image digests can be required', () => {
  const { file } = loadComposeText('services:\n  web:\n    image: busybox:latest\n', 'compose.yaml');
  const { violations } = applyContainerPolicy(file, { ...policy, requireImageDigest: true }, root);
  assert.equal(violations.map((v) => v.rule), ['image-digest']);
});

test.run();
