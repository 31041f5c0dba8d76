// Disk exhaustion (issue 10, item 3), on a small file system this test creates: a 16 MiB tmpfs
// mounted as root (unmounted in `after`). Where mounting is not possible, the same quota tests run
// on the ordinary temp dir and a full database is produced by SQLite's own page limit instead.
// A vendor with a quota stops at it (EDQUOT); a vendor without a useful quota stops at the space
// the device keeps for its state database (ENOSPC); and when the disk is full anyway the host
// drops log rows with a counter and keeps running, the victim's round trip within its factor.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppHost } from '../../runtime/apps/app-host.js';
import { loadDevicePolicy } from '../../runtime/state/device-policy.js';
import { openStateDb } from '../../runtime/state/state-db.js';
import { vendorDataRoot } from '../../runtime/state/vendor-names.js';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { appPackage, startVictim, VICTIM_POLICY, withinFactor } from '../support/victim.js';
import { runCli, tempDir } from '../support/paths.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const mountPoint = tempDir('bulkhead-smallfs-');
const small = (() => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountPoint], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const dataDir = path.join(mountPoint, 'data');
fs.mkdirSync(dataDir);
fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `state: { reserve: 3Mi }
vendors:
${VICTIM_POLICY}  Rogue Labs:
    wasm: { fsWritable: true, disk: 2Mi }
  Rogue Fill:
    wasm: { fsWritable: true, disk: 1Gi }
  Globex Analytics:
    wasm: { kvQuota: 16Ki, subscribe: ["plant/#"], memory: 16Mi }
`);
const db = openStateDb(dataDir);
const host = new AppHost({ dataDir, db, policy: () => loadDevicePolicy(dataDir) });
let victim: Awaited<ReturnType<typeof startVictim>>;
let baseline = 0;

const diskAttack = (appId: string, vendor: string) => appPackage(dataDir, {
  appId, vendor, wasm: 'vendors/build/rogue-exhaust.wasm', params: { attack: 'disk' },
  capabilities: '{ fs: [{ guest: /data, path: fill, mode: rw }] }',
});
const logs = (appId: string) => (host.flushLogs(), host.records.logs(appId).map((l) => l.message));
const freeBytes = () => {
  const st = fs.statfsSync(dataDir);
  return st.bavail * st.bsize;
};

test.before(async () => {
  victim = await startVictim(host, dataDir);
  baseline = await victim.rttMs(15);
});

test.after(async () => {
  try {
    await host.close();
    db.close();
  } finally {
    if (small) execFileSync('umount', ['-l', mountPoint]);
  }
});

test('a vendor writing without end stops at its disk quota (EDQUOT), reported in status', async () => {
  await host.start(diskAttack('rogue-disk', 'Rogue Labs'));
  assert.is(await host.ended('rogue-disk'), 'completed');
  const line = logs('rogue-disk').find((m) => m.startsWith('exhaust disk'))!;
  assert.match(line, /then: Quota exceeded/, line);
  const wrote = Number(/wrote (\d+) KiB/.exec(line)![1]) * KiB;
  assert.ok(wrote > 1 * MiB && wrote <= 2 * MiB, line);
  const root = vendorDataRoot(vendorId('Rogue Labs'), loadDevicePolicy(dataDir), dataDir);
  const onDisk = execFileSync('du', ['-sb', root], { encoding: 'utf8' });
  assert.ok(Number(onDisk.split('\t')[0]) <= 2 * MiB + 64 * KiB, `du: ${onDisk}`);
  assert.ok(host.records.audit({ appId: 'rogue-disk' }).some((e) => e.capability === 'limits.disk' && /disk quota of 2 MiB/.test(e.reason)));
  await host.recordSandboxes();
  const row = host.resources.vendors().find((r) => r.vendor === 'Rogue Labs')!;
  assert.ok(row.diskBytes > 1 * MiB && row.diskBytes <= 2 * MiB && row.diskLimit === 2 * MiB, JSON.stringify(row));
  const status = await runCli(['--data-dir', dataDir, 'status']);
  assert.match(status.stdout, /resources Rogue Labs: host buffers 0\.0 MiB of 32\.0 MiB, fds 0 of 1024, disk [12]\.\d MiB of 2\.0 MiB/, status.stdout + status.stderr);
});

test('the quota holds across restarts: what is on disk counts from the sandbox start', async () => {
  await host.start(diskAttack('rogue-disk-again', 'Rogue Labs'));
  assert.is(await host.ended('rogue-disk-again'), 'completed');
  const line = logs('rogue-disk-again').find((m) => m.startsWith('exhaust disk'))!;
  // The files of the first run are truncated and rewritten (O_TRUNC gives their size back first).
  assert.match(line, /then: Quota exceeded/, line);
  assert.ok(Number(/wrote (\d+) KiB/.exec(line)![1]) * KiB <= 2 * MiB, line);
});

test('a vendor with a large quota stops at the space kept for the state database (ENOSPC); the device keeps working', async () => {
  if (!small) {
    // No small file system here: the reserve cannot be reached without filling the real disk.
    assert.ok(freeBytes() > 3 * MiB);
    return;
  }
  await host.start(diskAttack('rogue-fill', 'Rogue Fill'));
  assert.is(await host.ended('rogue-fill'), 'completed');
  const line = logs('rogue-fill').find((m) => m.startsWith('exhaust disk'))!;
  assert.match(line, /then: No space left on device/, line);
  assert.ok(freeBytes() >= 3 * MiB - 64 * KiB, `${freeBytes()} bytes left`);
  assert.ok(host.records.audit({ appId: 'rogue-fill' }).some((e) => /keeps 3 MiB free for the device's state/.test(e.reason)));
  const during = await victim.rttMs();
  assert.ok(during < withinFactor(baseline), `victim ${during.toFixed(1)} ms, baseline ${baseline.toFixed(1)} ms`);
});

test('a full disk anyway (filled from outside): log rows are dropped and counted, the host keeps running', async () => {
  const dashboard = appPackage(dataDir, {
    appId: 'globex-dashboard', vendor: 'Globex Analytics', wasm: 'vendors/build/dashboard.wasm',
    capabilities: '{ kv: {}, messaging: { subscribe: ["plant/+/temperature"] } }',
  });
  assert.is(await host.start(dashboard), 'running');
  const filler = path.join(mountPoint, 'filler');
  const unfill = () => fs.rmSync(filler, { force: true });
  try {
    if (small) {
      const fd = fs.openSync(filler, 'w');
      try {
        const chunk = Buffer.alloc(64 * KiB, 1);
        for (;;) fs.writeSync(fd, chunk);
      } catch (err) {
        assert.is((err as NodeJS.ErrnoException).code, 'ENOSPC');
      } finally {
        fs.closeSync(fd);
      }
    } else {
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true })}`);
    }
    // The dashboard logs a line per reading; the host cannot store them.
    const deadline = Date.now() + 15_000;
    for (let i = 0; host.dropped.logRows === 0 && Date.now() < deadline; i++) {
      host.bus.publish('plant/line9/temperature', new TextEncoder().encode(`{"seq":${i},"celsius":21.5}`));
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(host.dropped.logRows > 0, 'rows were dropped, not crashed on');
    const during = await victim.rttMs();
    assert.ok(during < withinFactor(baseline), `victim ${during.toFixed(1)} ms on a full disk, baseline ${baseline.toFixed(1)} ms`);
    await host.recordSandboxes(); // must not throw on a full disk either
  } finally {
    unfill();
    if (!small) db.pragma('max_page_count = 4294967294');
  }
  // Room again: the drop count reaches status, and new rows are stored.
  await host.recordSandboxes();
  assert.ok(host.resources.deviceDrops().logRowsDropped > 0);
  assert.match((await runCli(['--data-dir', dataDir, 'status'])).stdout, /state database full: [1-9]\d* log rows and \d+ audit rows dropped/);
  host.bus.publish('plant/line9/temperature', new TextEncoder().encode('{"seq":0,"celsius":20}'));
  await new Promise((r) => setTimeout(r, 300));
  const before = host.records.logs('globex-dashboard').length;
  host.bus.publish('plant/line9/temperature', new TextEncoder().encode('{"seq":1,"celsius":20}'));
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(logs('globex-dashboard').length > before, 'logging works again');
  assert.is(host.records.app('globex-dashboard')!.actual, 'running');
  const after = await victim.rttMs();
  assert.ok(after < withinFactor(baseline), `victim ${after.toFixed(1)} ms after, baseline ${baseline.toFixed(1)} ms`);
});

test.run();
