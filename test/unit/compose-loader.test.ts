// Compose files as people write them (issue 15): what the current Compose Specification allows,
// interpolation as docker compose does it, override files and their tags, and `check` reporting
// every problem of a file at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { analyzeCompose, loadComposeText } from '../../runtime/bridge/compose-file.js';
import { interpolateString, parseDotEnv } from '../../runtime/bridge/compose-interpolation.js';
import { planComposeSources } from '../../runtime/bridge/compose-project.js';
import { defaultVendorPolicy } from '../../runtime/bridge/container-policy.js';

const policy = { ...defaultVendorPolicy('/var/lib/bulkhead/vendors/acme'), ports: { from: 20000, to: 20010 } };
const plan = (text: string | string[], variables: Record<string, string> = {}) => planComposeSources(
  (Array.isArray(text) ? text : [text]).map((t, i) => ({ name: i === 0 ? 'compose.yaml' : `override-${i}.yaml`, text: t })),
  { vendor: vendorId('ACME Industrial'), policy, variables }, '/pkg');
const lines = (p: ReturnType<typeof plan>) => p.problems.map((x) => `${x.code} ${x.path}: ${x.message}`);

test('the current specification: keys the old bundled schema refused are valid', () => {
  const p = plan(`services:
  web:
    image: busybox
    healthcheck: { test: ["CMD", "true"], start_interval: 2s, start_period: 10s }
    depends_on:
      db: { condition: service_started, restart: true, required: true }
    deploy: { resources: { limits: { pids: 32, memory: 64m } } }
    ports:
      - { target: 8080, published: "20001", name: web, app_protocol: http }
      - "20002-20004:9000-9002"
    volumes:
      - { type: bind, source: ./data, target: /data, bind: { selinux: z } }
    secrets:
      - { source: token, mode: "0440" }
  db:
    image: busybox
secrets:
  token: { file: ./token.txt }
`);
  assert.equal(lines(p), []);
  const web = p.services.find((s) => s.name === 'web')!;
  assert.is(web.pids, 32, 'deploy.resources.limits.pids is read by the policy');
  assert.equal(web.ports.map((x) => `${x.published}->${x.target}`), ['20001->8080', '20002->9000', '20003->9001', '20004->9002']);
  assert.equal(web.mounts[0]!.selinux, 'z');
  assert.is((p.file.services.web!.secrets as { mode: number }[])[0]!.mode, 0o440, 'a string mode is octal');
});

test('volume type image is valid Compose, refused by name as not implemented', () => {
  const p = plan('services:\n  web:\n    image: busybox\n    volumes:\n      - { type: image, source: "alpine:3", target: /img }\n');
  assert.equal(lines(p), ['BH_ERR_COMPOSE_UNSUPPORTED services.web.volumes[0].type: mount type "image" is not supported (bind, volume and tmpfs are)']);
});

test('interpolation: nested defaults, only what is used is evaluated, warnings for unset variables', () => {
  assert.is(interpolateString('${A:-${B:-x}}/${C-${D}}/$${E}', { D: 'd' }, 'x'), 'x/d/${E}');
  assert.is(interpolateString('${A:-${B:?never evaluated}}', { A: 'set' }, 'x'), 'set');
  const p = plan('services:\n  web:\n    image: "busybox:${TAG}"\n    environment: [ "X=$UNSET_TOO", "Y=${WITH_DEFAULT:-ok}" ]\n');
  assert.equal(lines(p), []);
  assert.equal(p.warnings, [
    'compose.yaml: services.web.image: the variable TAG is not set; an empty string is used (set it with --param TAG=... or in .env)',
    'compose.yaml: services.web.environment[0]: the variable UNSET_TOO is not set; an empty string is used (set it with --param UNSET_TOO=... or in .env)',
  ]);
  assert.equal(lines(plan('services:\n  web:\n    image: "${IMG:?set IMG to the image}"\n    command: "${unterminated"\n')), [
    'BH_ERR_COMPOSE_INVALID services.web.image: required variable IMG is missing a value: set IMG to the image',
    'BH_ERR_COMPOSE_INVALID services.web.command: unterminated "${" in "${unterminated"',
  ]);
});

test('.env values use ${VAR} from the lines above and the deployment parameters, which win', () => {
  assert.equal(parseDotEnv('BASE=/srv\nDATA=${BASE}/data\nQUOTED="${BASE} x"\nLITERAL=\'${BASE}\'\nPORT=${PORT:-1}\n', '.env', { PORT: '20005' }),
    { BASE: '/srv', DATA: '/srv/data', QUOTED: '/srv x', LITERAL: '${BASE}', PORT: '20005' });
});

test('interpolated values are cast to the schema type; values that are not of it are located errors', () => {
  const p = plan('services:\n  web:\n    image: busybox\n    read_only: ${RO:-true}\n    tty: "${TTY:-no}"\n    ports: [{ target: 80, published: "${PORT}" }]\n    pids_limit: ${PIDS:-16}\n', { PORT: '20003' });
  assert.equal(lines(p), []);
  const web = p.file.services.web!;
  assert.equal([web.read_only, web.pids_limit, (web.ports as { published: unknown }[])[0]!.published], [true, 16, 20003]);
  assert.equal(lines(plan('services:\n  web:\n    image: busybox\n    read_only: ${RO:-sometimes}\n    pids_limit: "many"\n')), [
    'BH_ERR_COMPOSE_INVALID services.web.read_only: "sometimes" is not a boolean (true or false)',
    'BH_ERR_COMPOSE_INVALID services.web.pids_limit: "many" is not an integer',
  ]);
});

test('!reset and !override: no YAMLWarning, and they work in merges (override files and extends alike)', () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    const p = plan([
      'services:\n  web:\n    image: busybox\n    ports: ["20001:80", "20002:81"]\n    environment: { A: "1", B: "2" }\n    command: ["a"]\n',
      'services:\n  web:\n    ports: !reset []\n    environment: !override { C: "3" }\n    command: ["b"]\n    labels: { x: y }\n',
    ]);
    assert.equal(lines(p), []);
    const web = p.file.services.web!;
    assert.is(web.ports, undefined, '!reset dropped the inherited ports');
    assert.equal(web.environment, { C: '3' }, '!override replaced instead of merging');
    assert.equal(web.command, ['b']);
    assert.equal(web.labels, { x: 'y' });
    const merged = plan([
      'services:\n  web:\n    image: busybox\n    environment: [A=1]\n    volumes: ["./a:/data", "./b:/b"]\n',
      'services:\n  web:\n    environment: { B: "2" }\n    volumes: ["./c:/data"]\n',
    ]).file.services.web!;
    assert.equal(merged.environment, { A: '1', B: '2' }, 'list and mapping forms merge by key');
    assert.equal(merged.volumes, ['./c:/data', './b:/b'], 'mounts merge by their target');
  } finally {
    process.off('warning', onWarning);
  }
  assert.equal(warnings, []);
});

test('check reports every problem of a file, of every stage, each located', () => {
  const p = plan(`services:
  a:
    image: busybox
    depends_on: [missing]
    privileged: true
  b:
    image: busybox
    depends_on: [c]
  c:
    image: busybox
    depends_on: [b]
  d:
    image: busybox
    deploy:
      resources:
        reservations:
          devices: [{ capabilities: [], count: -2, device_ids: ["0"] }]
  e:
    image: busybox
    read_only: maybe
    scale: 2
`);
  assert.equal(p.problems.map((x) => `${x.code} ${x.line} ${x.path}`), [
    'BH_ERR_COMPOSE_INVALID 20 services.e.read_only',
    'BH_ERR_COMPOSE_UNSUPPORTED 21 services.e.scale',
    'BH_ERR_COMPOSE_INVALID 4 services.a.depends_on.missing',
    'BH_ERR_COMPOSE_INVALID 17 services.d.deploy.resources.reservations.devices[0].capabilities',
    'BH_ERR_COMPOSE_INVALID 17 services.d.deploy.resources.reservations.devices[0]',
    'BH_ERR_COMPOSE_INVALID 17 services.d.deploy.resources.reservations.devices[0].count',
    'BH_ERR_COMPOSE_INVALID 8 services.b.depends_on',
    'BH_ERR_POLICY 5 services.a.privileged',
    'BH_ERR_POLICY 17 services.d.deploy.resources.reservations.devices',
  ]);
  assert.match(p.problems.find((x) => x.path === 'services.b.depends_on')!.message, /^dependency cycle: b -> c -> b$/);
  assert.equal(p.services, [], 'nothing is enforced while there are problems');
});

test('a top-level name must be a valid project name (explicit schema patch)', () => {
  assert.throws(() => loadComposeText('name: My App\nservices:\n  web:\n    image: busybox\n', 'compose.yaml'), /name: does not match/);
  assert.equal(analyzeCompose([{ name: 'c.yaml', text: 'name: my-app_2\nservices:\n  web:\n    image: busybox\n' }]).problems, []);
});

test.run();
