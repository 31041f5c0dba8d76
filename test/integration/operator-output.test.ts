// What a guest writes reaches the operator's terminal through `bulkhead logs` and `bulkhead audit`.
// A hostile component (samples/vendors/rogue-swap.c forge) logs "\r\x1b[2K" plus a newline and a
// forged record, and tries a path carrying the same escapes, so that on a terminal its audit line
// would erase itself and its log would show a record it did not write as such. The human output
// prints such characters escaped (\x1b, \x0d, \x0a); --json keeps the exact text.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppHost } from '../../runtime/apps/app-host.js';
import { loadDevicePolicy } from '../../runtime/state/device-policy.js';
import { openStateDb } from '../../runtime/state/state-db.js';
import { runCli, sample, tempDir } from '../support/paths.js';

test('guest text in logs and audit is printed with its control characters escaped, one record a line', async () => {
  const dataDir = tempDir('bulkhead-output-');
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), 'vendors:\n  Rogue Labs:\n    wasm: {}\n');
  const dir = path.join(dataDir, 'src', 'forger');
  fs.mkdirSync(path.join(dir, 'components'), { recursive: true });
  fs.copyFileSync(sample('vendors/build/rogue-swap.wasm'), path.join(dir, 'components', 'rogue-swap.wasm'));
  fs.writeFileSync(path.join(dir, 'margo.yaml'), `apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
metadata: { id: forger, name: forger, version: 1.0.0, catalog: { organization: [{ name: Rogue Labs }] } }
deploymentProfiles:
  - type: x-bulkhead-wasm
    components:
      - { name: main, properties: { module: components/rogue-swap.wasm, args: [forge], capabilities: { fs: [{ guest: /data, path: store, mode: ro }] } } }
`);
  const db = openStateDb(dataDir);
  const host = new AppHost({ dataDir, db, policy: () => loadDevicePolicy(dataDir) });
  try {
    await host.start({ appId: 'forger', version: '1.0.0', vendor: 'Rogue Labs', digest: '', path: dir, installedAt: '' });
    await host.ended('forger');
    host.flushLogs();
  } finally {
    await host.close();
    db.close();
  }
  const logs = await runCli(['--data-dir', dataDir, 'logs', 'forger']);
  assert.is(logs.code, 0, logs.stderr);
  assert.not.match(logs.stdout, /[\r\x1b]/, 'no raw control character reaches the terminal');
  assert.match(logs.stdout, /main: harmless\\x0d\\x1b\[2K\\x0a2026-01-01T00:00:00\.000Z INFO {2}main: all good\n/);
  assert.ok(logs.stdout.split('\n').every((l) => l === '' || !l.startsWith('2026-01-01')), 'the forged record is no line of its own');
  const audit = await runCli(['--data-dir', dataDir, 'audit', '--app', 'forger']);
  assert.is(audit.code, 0, audit.stderr);
  assert.not.match(audit.stdout, /[\r\x1b]/);
  assert.match(audit.stdout, /\.\.\/\\x0d\\x1b\[2Kescape/, audit.stdout);
  // --json keeps the exact text for machines.
  const json = JSON.parse((await runCli(['--data-dir', dataDir, 'audit', '--app', 'forger', '--json'])).stdout) as { events: { attempted: string }[] };
  assert.ok(json.events.some((e) => e.attempted.includes('\r\x1b[2Kescape')), JSON.stringify(json.events));
});

test.run();
