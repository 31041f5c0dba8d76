// A hostile vendor hoarding host file descriptors. Every vendor's sandbox thread lives in the
// daemon's process and shares its fd table (RLIMIT_NOFILE), so a guest that may open files
// without limit leaves the daemon and every other vendor unable to open anything: the victim's
// app, started meanwhile, could not even open its own granted directory. The per-instance cap
// (host-apis/limits/resource-ledger.ts) is tried here end to end through a preview1 core module
// app, the path that has no adapter's descriptor table in front of the host. Real components
// (samples/hostile/rogue-fds.c, samples/vendors/rogue-swap.c read), real sandbox threads, a real SQLite file.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { AppHost } from '../../runtime/apps/app-host.js';
import { loadDevicePolicy } from '../../runtime/state/device-policy.js';
import { openStateDb } from '../../runtime/state/state-db.js';
import { DEFAULT_RESOURCE_LIMITS } from '../../host-apis/limits/resource-ledger.js';
import { vendorDirName } from '../../runtime/state/vendor-names.js';
import { sample, tempDir } from '../support/paths.js';

const ROGUE = 'Rogue Hoard Labs';
const VICTIM = 'Victim Works';

test('a guest opening files without end is stopped at its own limit; another vendor\'s app still opens its files', async () => {
  const dataDir = tempDir('bulkhead-fd-hoard-');
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:\n  ${ROGUE}:\n    wasm: { cpu: 1 }\n  ${VICTIM}:\n    wasm: { fsWritable: true }\n`);
  for (const v of [ROGUE, VICTIM]) {
    const store = path.join(dataDir, 'vendors', vendorDirName(vendorId(v)), 'store');
    fs.mkdirSync(store, { recursive: true });
    fs.writeFileSync(path.join(store, 'secret.txt'), `${v === VICTIM ? 'VICTIM' : 'ROGUE'}-OWN\n`);
  }
  const lines = new Map<string, string[]>();
  const db = openStateDb(dataDir);
  const host = new AppHost({
    dataDir, db, policy: () => loadDevicePolicy(dataDir),
    onEvent: (e) => {
      if (e.kind === 'log') lines.set(e.row.appId, [...(lines.get(e.row.appId) ?? []), e.row.message]);
    },
  });
  const app = (appId: string, vendor: string, wasm: string, args: string[]) => {
    const dir = path.join(dataDir, 'src', appId);
    fs.mkdirSync(path.join(dir, 'components'), { recursive: true });
    fs.copyFileSync(sample(wasm), path.join(dir, 'components', path.basename(wasm)));
    fs.writeFileSync(path.join(dir, 'margo.yaml'), `apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
metadata: { id: ${appId}, name: ${appId}, version: 1.0.0, catalog: { organization: [{ name: ${vendor} }] } }
deploymentProfiles:
  - type: x-bulkhead-wasm
    components:
      - { name: main, properties: { module: components/${path.basename(wasm)}, args: ${JSON.stringify(args)}, capabilities: { fs: [{ guest: /data, path: store, mode: rw }] } } }
`);
    return { appId, version: '1.0.0', vendor, digest: '', path: dir, installedAt: '' };
  };
  const baseline = fs.readdirSync('/proc/self/fd').length;
  try {
    const victim = app('victim-reader', VICTIM, 'vendors/build/rogue-swap.wasm', ['read']);
    await host.start(app('hoarder', ROGUE, 'hostile/build/rogue-fds.wasm', ['hoard', '100000', '3']));
    // A preview1 job's output arrives when it ends: watch the process's fd table instead, until
    // the hoarder has opened what it could (the count stops growing).
    const openNow = () => fs.readdirSync('/proc/self/fd').length;
    let last = -1;
    for (let i = 0; i < 300 && (openNow() !== last || last < baseline + 50); i++) {
      last = openNow();
      await new Promise((r) => setTimeout(r, 100));
    }
    // While it holds what it got, the victim's app (another vendor, another thread) starts and reads.
    await host.start(victim);
    await host.ended('victim-reader');
    host.flushLogs();
    assert.ok(lines.get('victim-reader')?.includes('read: VICTIM-OWN'), `victim reads its own file: ${lines.get('victim-reader')?.join(' | ')}`);
    await host.ended('hoarder');
    host.flushLogs();
    const said = lines.get('hoarder')?.find((l) => l.startsWith('hoard:')) ?? '';
    const held = Number(/^hoard: (\d+) open/.exec(said)?.[1]);
    assert.ok(held > 0 && held <= DEFAULT_RESOURCE_LIMITS.fdsPerInstance, `held ${held}, within the instance's limit: ${said}`);
    const audit = host.records.audit({ appId: 'hoarder' });
    assert.ok(audit.some((e) => /descriptor/i.test(e.reason)), `the limit is audited: ${JSON.stringify(audit)}`);
  } finally {
    await host.close();
    db.close();
  }
  assert.ok(fs.readdirSync('/proc/self/fd').length <= baseline + 2, 'every descriptor was released');
});

test.run();
