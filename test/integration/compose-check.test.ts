// `bulkhead compose check` through the real CLI, with the operator's policy from policy.yaml.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, tempDir } from '../support/paths.js';

function setup(compose: string, extra: Record<string, string> = {}) {
  const dataDir = tempDir('bulkhead-data-');
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:
  ACME Industrial:
    ports: { from: 20000, to: 20010 }
    capAdd: [NET_BIND_SERVICE]
    limits: { memory: 128Mi, cpus: 0.5, pids: 64 }
`);
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'compose.yaml'), compose);
  fs.writeFileSync(path.join(dir, '.env'), 'HTTP_PORT=20005\n');
  for (const [name, text] of Object.entries(extra)) fs.writeFileSync(path.join(dir, name), text);
  return { dataDir, dir, file: path.join(dir, 'compose.yaml') };
}

test('a compliant file passes, with .env interpolation and the policy adjustments listed in human sizes', async () => {
  const { dataDir, file } = setup('services:\n  web:\n    image: busybox\n    ports: ["${HTTP_PORT}:8080"]\n    mem_limit: 1g\n');
  const r = await runCli(['--data-dir', dataDir, 'compose', 'check', '-f', file, '--vendor', 'ACME Industrial', '--json']);
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.is(report.ok, true);
  assert.equal(report.problems, []);
  assert.equal(report.services[0].ports, [{ hostIp: '127.0.0.1', published: 20005, target: 8080, protocol: 'tcp' }]);
  assert.is(report.services[0].memoryBytes, 128 * 1024 * 1024);
  const human = await runCli(['--data-dir', dataDir, 'compose', 'check', '-f', file, '--vendor', 'ACME Industrial']);
  assert.match(human.stdout, /web: memory 1 GiB capped to the policy's 128 MiB/);
});

test('the same file for a vendor without a policy entry is denied by default', async () => {
  const { dataDir, file } = setup('services:\n  web:\n    image: busybox\n    ports: ["${HTTP_PORT}:8080"]\n');
  const r = await runCli(['--data-dir', dataDir, 'compose', 'check', '-f', file, '--vendor', 'Unknown Vendor']);
  assert.is(r.code, 1);
  assert.match(r.stdout, /compose\.yaml:4: services\.web\.ports: ports\[0\] host port 20005 is not allowed: this vendor has no port range assigned \[BH_ERR_POLICY ports\]/);
});

test('every problem is listed, of every stage, on one stream in one shape, with a code in --json', async () => {
  const { dataDir, file } = setup(`services:
  a:
    image: busybox
    privileged: true
    depends_on: [ghost]
  b:
    image: busybox
    network_mode: host
    volumes: ["/var/run/docker.sock:/var/run/docker.sock", { type: bind, target: /data }]
    read_only: \${RO:-perhaps}
    build: .
`);
  const r = await runCli(['--data-dir', dataDir, 'compose', 'check', '-f', file, '--vendor', 'ACME Industrial']);
  assert.is(r.code, 125, 'structural problems make it bad input');
  assert.is(r.stderr, '');
  for (const want of [
    /compose\.yaml:4: services\.a\.privileged: privileged containers are not allowed \[BH_ERR_POLICY privileged\]/,
    /compose\.yaml:5: services\.a\.depends_on\.ghost: depends on "ghost", which is not a service of this file .* \[BH_ERR_COMPOSE_INVALID\]/,
    /compose\.yaml:9: services\.b\.volumes\[1\]: a bind mount needs a source/,
    /compose\.yaml:10: services\.b\.read_only: "perhaps" is not a boolean \(true or false\) \[BH_ERR_COMPOSE_INVALID\]/,
    /compose\.yaml:11: services\.b\.build: images cannot be built on a device.* \[BH_ERR_COMPOSE_UNSUPPORTED\]/,
  ]) assert.match(r.stdout, want);
  assert.not.match(r.stdout, /network_mode/, 'service b has structural problems: the policy does not read it as typed');
  const json = await runCli(['--data-dir', dataDir, 'compose', 'check', '-f', file, '--vendor', 'ACME Industrial', '--json']);
  const report = JSON.parse(json.stdout);
  assert.equal([...new Set(report.problems.map((p: { code: string }) => p.code))].sort(), ['BH_ERR_COMPOSE_INVALID', 'BH_ERR_COMPOSE_UNSUPPORTED', 'BH_ERR_POLICY']);
  assert.ok(report.problems.every((p: { file: string; path: string; message: string }) => p.file === file && p.path && p.message), json.stdout);
});

test('the issue\'s crash: a long-syntax bind without a source is a located error with the bad-input status, for every verb', async () => {
  const { dataDir, file } = setup('services:\n  web:\n    image: busybox\n    volumes:\n      - type: bind\n        target: /data\n');
  for (const verb of ['check', 'up', 'ps', 'down']) {
    const r = await runCli(['--data-dir', dataDir, 'compose', verb, '-f', file, '--vendor', 'ACME Industrial', '--host', 'unix:///nonexistent.sock']);
    assert.is(r.code, 125, `${verb}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, /compose\.yaml:5: services\.web\.volumes\[0\]: a bind mount needs a source/);
    assert.not.match(r.stderr, /internal error/);
  }
  const json = await runCli(['--data-dir', dataDir, 'compose', 'up', '-f', file, '--vendor', 'ACME Industrial', '--json']);
  const out = JSON.parse(json.stdout);
  assert.is(out.code, 'BH_ERR_COMPOSE_INVALID');
  assert.equal(out.problems.map((p: { path: string }) => p.path), ['services.web.volumes[0]']);
});

test('docker compose habits: compose.yaml found in the current directory with its override file; several -f merged in order; -p', async () => {
  const { dataDir, dir } = setup('services:\n  web:\n    image: busybox\n    ports: ["20001:80"]\n', {
    'compose.override.yaml': 'services:\n  web:\n    ports: !override ["20002:80"]\n',
    'more.yaml': 'services:\n  web:\n    mem_limit: 64m\n  extra:\n    image: busybox\n',
  });
  const found = await runCli(['--data-dir', dataDir, 'compose', 'check', '--vendor', 'ACME Industrial', '--json'], { cwd: dir });
  assert.is(found.code, 0, found.stdout + found.stderr);
  const report = JSON.parse(found.stdout);
  assert.equal(report.files, [path.join(dir, 'compose.yaml'), path.join(dir, 'compose.override.yaml')]);
  assert.equal(report.services[0].ports.map((p: { published: number }) => p.published), [20002]);
  const merged = JSON.parse((await runCli(['--data-dir', dataDir, 'compose', 'check', '-f', 'compose.yaml', '-f', 'more.yaml', '-p', 'plant-7', '--vendor', 'ACME Industrial', '--json'], { cwd: dir })).stdout);
  assert.is(merged.project, 'plant-7');
  assert.equal(merged.services.map((s: { name: string; memoryBytes: number }) => [s.name, s.memoryBytes]), [['web', 64 * 1024 * 1024], ['extra', 128 * 1024 * 1024]]);
  const badName = await runCli(['--data-dir', dataDir, 'compose', 'check', '-p', 'Plant 7', '--vendor', 'ACME Industrial'], { cwd: dir });
  assert.is(badName.code, 125);
  assert.match(badName.stderr, /-p "Plant 7": a project name is lower-case letters/);
  const none = await runCli(['--data-dir', dataDir, 'compose', 'check', '--vendor', 'ACME Industrial'], { cwd: tempDir() });
  assert.is(none.code, 125);
  assert.match(none.stderr, /no Compose file: give -f FILE, or run where one of compose\.yaml, compose\.yml, docker-compose\.yaml, docker-compose\.yml is/);
});

test.run();
