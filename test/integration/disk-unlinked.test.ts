// Redteam finding 4: a guest unlinking files it keeps open had their full size refunded at the
// unlink, though the blocks stay allocated until the last descriptor closes: with a 2 MiB quota
// the host held 60 MiB of deleted files. Now a removed file's bytes stay charged until its last
// link and its last open descriptor are gone, and writes after the unlink are charged as any.
// Both paths: the preview1 module, and the same guest as a component (preview2 via the adapter).
import fs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppHost } from '../../runtime/apps/app-host.js';
import { loadDevicePolicy } from '../../runtime/state/device-policy.js';
import { openStateDb } from '../../runtime/state/state-db.js';
import { appPackage, dataDirWithPolicy } from '../support/victim.js';
import { scanDiskUsage } from '../../host-apis/limits/disk-usage.js';
import { vendorDataRoot } from '../../runtime/state/vendor-names.js';
import { vendorId } from '../../packages/trust/vendor-id.js';

const MiB = 1024 * 1024;
const dataDir = dataDirWithPolicy(`vendors:
  Rogue Unlink One:
    wasm: { fsWritable: true, disk: 2Mi, cpu: 1 }
  Rogue Unlink Two:
    wasm: { fsWritable: true, disk: 2Mi, cpu: 1 }
`, 'bulkhead-unlinked-');
const db = openStateDb(dataDir);
const host = new AppHost({ dataDir, db, policy: () => loadDevicePolicy(dataDir) });
const realData = fs.realpathSync(dataDir);

test.after(async () => {
  await host.close();
  db.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Deleted files under the data dir this process holds open, and their allocated bytes. */
function heldDeleted(): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target = '';
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (!target.startsWith(realData) || !target.endsWith(' (deleted)')) continue;
    try {
      bytes += fs.fstatSync(Number(fd)).blocks * 512;
      files++;
    } catch { /* closed meanwhile */ }
  }
  return { files, bytes };
}

for (const [kind, vendor, wasm] of [
  ['preview1 module', 'Rogue Unlink One', 'hostile/build/unlinked-fill.wasm'],
  ['component (preview2)', 'Rogue Unlink Two', 'hostile/build/unlinked-fill.component.wasm'],
] as const) {
  test(`${kind}: files unlinked while open stay charged; the guest stops at its 2 MiB quota; the last close refunds`, async () => {
    const appId = `unlinked-${kind.startsWith('preview1') ? 'p1' : 'p2'}`;
    assert.is(await host.start(appPackage(dataDir, { appId, vendor, wasm, capabilities: '{ fs: [{ guest: /data, path: fill, mode: rw }] }' })), 'running');
    // Sampled while it runs (a preview1 job's output arrives when it ends).
    let peak = { files: 0, bytes: 0, ledger: 0 };
    const ended = host.ended(appId);
    let done = false;
    void ended.then(() => { done = true; });
    while (!done) {
      const h = heldDeleted();
      const ledger = host.ledgerOf(vendor)?.usage().diskBytes ?? 0;
      if (h.bytes >= peak.bytes) peak = { ...h, ledger };
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.is(await ended, 'completed');
    host.flushLogs();
    const line = host.records.logs(appId).map((l) => l.message).find((m) => m.startsWith('unlinked:'));
    assert.ok(line, `no report from the guest: ${host.records.app(appId)?.reason}`);
    // Before: "held 40 unlinked files open, 61440 KiB written, then: none", 60 MiB held on disk.
    assert.ok(/then: Quota exceeded$/.test(line!), line); // EDQUOT
    const written = Number(/(\d+) KiB written/.exec(line!)![1]) * 1024;
    assert.ok(written <= 2 * MiB, line);
    assert.ok(peak.files >= 1, 'the guest held deleted files open');
    assert.ok(peak.bytes <= 2 * MiB + 64 * 1024, `the host held ${peak.files} deleted files, ${peak.bytes} bytes`);
    assert.ok(peak.ledger >= peak.bytes - 64 * 1024, `the ledger counted ${peak.ledger} bytes while ${peak.bytes} were held`);
    assert.ok(host.records.audit({ appId }).some((e) => e.capability === 'limits.disk'), 'the refusal is audited');
    assert.is(heldDeleted().files, 0, 'the instance end closed them');
    // What is left counts exactly what is on disk (the file the quota stopped is still linked).
    const onDisk = scanDiskUsage(vendorDataRoot(vendorId(vendor), loadDevicePolicy(dataDir), dataDir));
    assert.is(host.ledgerOf(vendor)!.usage().diskBytes, onDisk, 'the unlinked files\' bytes went back at their last close');
  });
}

test.run();
