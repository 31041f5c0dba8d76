// The AppHost the daemon uses, in-process: per-vendor admission limits (instances, total memory)
// and what a refused start leaves behind. Real sandbox threads, a real SQLite file.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppHost } from '../../runtime/apps/app-host.js';
import { loadDevicePolicy } from '../../runtime/state/device-policy.js';
import { openStateDb } from '../../runtime/state/state-db.js';
import { sample, tempDir } from '../support/paths.js';

const dataDir = tempDir('bulkhead-apphost-');
fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:
  Tight:
    wasm: { memory: 4Mi, memoryTotal: 8Mi, maxInstances: 3 }
`);
const db = openStateDb(dataDir);
const host = new AppHost({ dataDir, db, policy: () => loadDevicePolicy(dataDir) });

function app(appId: string, components: string[], memory = '4Mi') {
  const dir = path.join(dataDir, 'src', appId);
  fs.mkdirSync(path.join(dir, 'components'), { recursive: true });
  fs.copyFileSync(sample('bench-c/build/idle.wasm'), path.join(dir, 'components', 'idle.wasm'));
  fs.writeFileSync(path.join(dir, 'margo.yaml'), `apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
metadata: { id: ${appId}, name: ${appId}, version: 1.0.0, catalog: { organization: [{ name: Tight }] } }
deploymentProfiles:
  - type: x-bulkhead-wasm
    components:
${components.map((c) => `      - { name: ${c}, properties: { module: components/idle.wasm, limits: { memory: ${memory} } } }`).join('\n')}
`);
  return { appId, version: '1.0.0', vendor: 'Tight', digest: '', path: dir, installedAt: '' };
}

test.after(async () => {
  await host.close();
  db.close();
});

test('a vendor cannot run more instances than its policy allows', async () => {
  assert.is(await host.start(app('four', ['a', 'b', 'c', 'd'])), 'failed');
  assert.match(host.records.app('four')!.reason!, /Tight may run 3 instances; 0 are running and four needs 4/);
  assert.equal(host.records.instances('four'), [], 'nothing was started');
});

test('the vendor memory budget counts every running instance cap', async () => {
  assert.is(await host.start(app('first', ['a', 'b'])), 'running');
  assert.is(await host.start(app('second', ['a'])), 'failed');
  assert.match(host.records.app('second')!.reason!, /memory budget is 8388608 bytes; 8388608 are reserved and second needs 4194304/);
  const audit = host.records.audit({ appId: 'second' });
  assert.equal(audit.map((e) => e.capability), ['limits']);
  await host.stop('first');
  assert.is(await host.start(app('second', ['a'])), 'running', 'the budget is free again once the first app stopped');
  await host.stop('second');
});

test('a manifest asking for more memory than the vendor cap is capped, and that is audited', async () => {
  assert.is(await host.start(app('greedy', ['a'], '64Mi')), 'running');
  const audit = host.records.audit({ appId: 'greedy' });
  assert.ok(audit.some((e) => e.capability === 'memory' && /above Tight's per-instance cap of 4194304 bytes; capped/.test(e.reason)));
  await host.stop('greedy');
});

test('a start refused for its limits still records what its plan denied', async () => {
  assert.is(await host.start(app('refused-greedy', ['a', 'b', 'c', 'd'], '64Mi')), 'failed');
  const audit = host.records.audit({ appId: 'refused-greedy' });
  assert.equal(audit.map((e) => e.capability).sort(), ['limits', 'memory', 'memory', 'memory', 'memory']);
});

test.run();
