// `bulkhead compose check` through the real CLI, with the operator's policy from policy.yaml.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, tempDir } from '../support/paths.js';

function setup(compose: string) {
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
  return { dataDir, file: path.join(dir, 'compose.yaml') };
}

test('a compliant file passes, with .env interpolation and the policy adjustments listed', async () => {
  const { dataDir, file } = setup('services:\n  web:\n    image: busybox\n    ports: ["${HTTP_PORT}:8080"]\n    mem_limit: 1g\n');
  const r = await runCli(['--data-dir', dataDir, 'compose', 'check', '-f', file, '--vendor', 'ACME Industrial', '--json']);
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.is(report.ok, true);
  assert.equal(report.services[0].ports, [{ hostIp: '127.0.0.1', published: 20005, target: 8080, protocol: 'tcp' }]);
  assert.is(report.services[0].memoryBytes, 128 * 1024 * 1024);
  assert.ok(report.services[0].adjustments.some((a: string) => /memory .* capped/.test(a)));
});

test('the same file for a vendor without a policy entry is denied by default', async () => {
  const { dataDir, file } = setup('services:\n  web:\n    image: busybox\n    ports: ["${HTTP_PORT}:8080"]\n');
  const r = await runCli(['--data-dir', dataDir, 'compose', 'check', '-f', file, '--vendor', 'Unknown Vendor']);
  assert.is(r.code, 1);
  assert.match(r.stdout, /violation \[ports\] services\.web: ports\[0\] host port 20005 is not allowed: this vendor has no port range assigned/);
});

test('every violation is listed, not just the first', async () => {
  const { dataDir, file } = setup('services:\n  a:\n    image: busybox\n    privileged: true\n  b:\n    image: busybox\n    network_mode: host\n    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]\n');
  const r = await runCli(['--data-dir', dataDir, 'compose', 'check', '-f', file, '--vendor', 'ACME Industrial']);
  assert.is(r.code, 1);
  assert.match(r.stdout, /violation \[privileged\] services\.a:/);
  assert.match(r.stdout, /violation \[network_mode\] services\.b:/);
  assert.match(r.stdout, /violation \[engine-socket\] services\.b:/);
});

test('a broken file is bad input with the path in the file', async () => {
  const { dataDir, file } = setup('services:\n  web:\n    build: .\n');
  const r = await runCli(['--data-dir', dataDir, 'compose', 'check', '-f', file, '--vendor', 'ACME Industrial']);
  assert.is(r.code, 125);
  assert.match(r.stderr, /services\.web\.build: images cannot be built on a device/);
});

test.run();
