// Resource exhaustion (issue 10): a hostile vendor tries to make the host hold memory, handles,
// descriptors, audit rows and queued messages outside its caps. Each attack really runs (C guests
// from samples/), is stopped at the vendor's cap with the interface's own error and an audit
// event, and a victim vendor's message round trip stays within a stated factor of its baseline
// before, during and after; the host is alive at the end. The disk attacks are in disk-full.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppHost } from '../../runtime/apps/app-host.js';
import { loadDevicePolicy } from '../../runtime/state/device-policy.js';
import { openStateDb } from '../../runtime/state/state-db.js';
import { appPackage, dataDirWithPolicy, startVictim, VICTIM_POLICY, withinFactor } from '../support/victim.js';

const MiB = 1024 * 1024;
const dataDir = dataDirWithPolicy(`state: { auditRows: 300 }
vendors:
${VICTIM_POLICY}  Rogue Labs:
    wasm: { fsWritable: true, memory: 16Mi, hostMemory: 32Mi, fds: 64, fdsTotal: 96, handles: 1024, kvQuota: 8Ki,
            publish: ["plant/#"], publishRate: 300, publishBytes: 32Mi, cpu: 1, maxInstances: 4,
            subscribe: ["plant/#"], subscriptions: 1500 }
  Globex Analytics:
    wasm: { kvQuota: 16Ki, subscribe: ["plant/#"], memory: 16Mi, cpu: 0.5, cpuWindow: 1s }
`);
const db = openStateDb(dataDir);
const host = new AppHost({ dataDir, db, policy: () => loadDevicePolicy(dataDir) });
let victim: Awaited<ReturnType<typeof startVictim>>;
let baseline = 0;

const rogue = (appId: string, wasm: string, params: Record<string, string>, capabilities = '{ fs: [{ guest: /data, path: exhaust, mode: rw }] }') =>
  appPackage(dataDir, { appId, vendor: 'Rogue Labs', wasm, params, capabilities });
const logs = (appId: string) => (host.flushLogs(), host.records.logs(appId).map((l) => l.message));
const audit = (appId: string) => (host.flushLogs(), host.records.audit({ appId }));

test.before(async () => {
  victim = await startVictim(host, dataDir);
  baseline = await victim.rttMs(15);
});

test.after(async () => {
  await host.close();
  db.close();
});

test('http bodies: 64 x 8 MiB never sent stop at the vendor host-memory budget; RSS stays bounded', async () => {
  // A first run holding nothing: the vendor's sandbox thread exists and the component is compiled.
  assert.is(await host.start(rogue('rogue-hoard-warm', 'net-c/build/rogue-hoard.wasm', { bodies: '0', 'hold-ms': '0' }, '{}')), 'running');
  await host.ended('rogue-hoard-warm');
  const rssBefore = process.memoryUsage().rss;
  const app = rogue('rogue-hoard', 'net-c/build/rogue-hoard.wasm', { bodies: '64', mib: '8', 'hold-ms': '2500' }, '{}');
  assert.is(await host.start(app), 'running');
  await new Promise((r) => setTimeout(r, 1200)); // the bodies are filled; the job holds them
  const during = await victim.rttMs();
  const rssDuring = process.memoryUsage().rss;
  const held = host.ledgerOf('Rogue Labs')!.usage().hostBytes;
  assert.is(await host.ended('rogue-hoard'), 'completed');
  const line = logs('rogue-hoard').find((m) => m.startsWith('hoard: held'));
  assert.ok(line, logs('rogue-hoard').join('\n'));
  const mib = Number(/held (\d+) MiB/.exec(line!)![1]);
  assert.ok(mib <= 32 && mib >= 24, line);
  assert.match(line!, /then: stream error/);
  assert.ok(held <= 32 * MiB, `ledger held ${held}`);
  assert.ok(rssDuring - rssBefore < 32 * MiB + 48 * MiB, `RSS grew ${Math.round((rssDuring - rssBefore) / MiB)} MiB (before the fix: 512 MiB)`);
  assert.ok(audit('rogue-hoard').some((e) => e.capability === 'limits.host-memory'), 'the refusal is audited');
  assert.is(host.ledgerOf('Rogue Labs')!.usage().hostBytes, 0, 'released at the instance end');
  assert.ok(during < withinFactor(baseline), `victim round trip ${during.toFixed(1)} ms during, baseline ${baseline.toFixed(1)} ms`);
});

test('handles: a guest creating wasi:http fields without end is stopped at its handle cap', async () => {
  const app = rogue('rogue-handles', 'net-c/build/rogue-hoard.wasm', { mode: 'handles' }, '{}');
  await host.start(app);
  assert.is(await host.ended('rogue-handles'), 'failed');
  assert.match(host.records.app('rogue-handles')!.reason!, /1024 handles, its cap/);
  assert.ok(audit('rogue-handles').some((e) => e.capability === 'limits.handles'));
  assert.ok(await victim.rttMs() < withinFactor(baseline));
});

test('descriptors: repeated open-at stops at the instance cap (EMFILE-like), is audited, and is given back', async () => {
  const app = rogue('rogue-fds', 'vendors/build/rogue-exhaust.wasm', { attack: 'fds', 'hold-ms': '1500' });
  assert.is(await host.start(app), 'running');
  await new Promise((r) => setTimeout(r, 500));
  const held = host.ledgerOf('Rogue Labs')!.usage().fds;
  const during = await victim.rttMs();
  assert.is(await host.ended('rogue-fds'), 'completed');
  const line = logs('rogue-fds').find((m) => m.startsWith('exhaust fds'));
  assert.ok(line, logs('rogue-fds').join('\n'));
  const opened = Number(/opened (\d+)/.exec(line!)![1]);
  assert.ok(opened > 30 && opened < 64, line);
  assert.ok(held <= 64, `held ${held} descriptors`);
  assert.ok(audit('rogue-fds').some((e) => e.capability === 'limits.fds' && /64 open descriptors, its cap/.test(e.reason)));
  assert.is(host.ledgerOf('Rogue Labs')!.usage().fds, 0, 'every descriptor went back at the instance end');
  assert.ok(during < withinFactor(baseline), `victim ${during.toFixed(1)} ms, baseline ${baseline.toFixed(1)} ms`);
});

test('descriptors: services of one vendor holding theirs together stop at the vendor cap', async () => {
  const holders = ['rogue-hold-a', 'rogue-hold-b'].map((id) => rogue(id, 'vendors/build/rogue-fd-holder.wasm', {}));
  for (const h of holders) assert.is(await host.start(h), 'running');
  const holding = holders.map((h) => Number(/holding (\d+)/.exec(logs(h.appId).find((m) => m.startsWith('fd-holder'))!)![1]));
  assert.ok(holding[0]! > 30, `the first held ${holding[0]}`);
  assert.ok(holding[0]! + holding[1]! <= 96 - 2, `held ${holding.join(' + ')} (preopens count too)`);
  assert.ok(audit('rogue-hold-b').some((e) => /the vendor's instances hold 96 open descriptors, its cap/.test(e.reason)));
  assert.ok(await victim.rttMs() < withinFactor(baseline), 'the victim is unaffected');
  for (const h of holders) await host.stop(h.appId);
  assert.is(host.ledgerOf('Rogue Labs')!.usage().fds, 0, 'stopping gives every descriptor back');
});

test('audit flood: denied calls in a loop give a bounded number of rows and a "more dropped" row; the table is pruned', async () => {
  const app = rogue('rogue-audit', 'vendors/build/rogue-exhaust.wasm', { attack: 'audit', 'hold-ms': '2000' });
  const t0 = performance.now();
  assert.is(await host.start(app), 'running');
  await new Promise((r) => setTimeout(r, 700));
  const during = await victim.rttMs();
  assert.is(await host.ended('rogue-audit'), 'completed');
  const seconds = (performance.now() - t0) / 1000;
  const denied = Number(/(\d+) calls denied/.exec(logs('rogue-audit').find((m) => m.startsWith('exhaust audit'))!)![1]);
  const rows = audit('rogue-audit');
  const kvRows = rows.filter((e) => e.capability === 'kv').length;
  assert.ok(denied > 1000, `only ${denied} denied calls`);
  // burst 100 + 20/s, plus at most one summary row a second
  assert.ok(kvRows <= 100 + 20 * seconds + 5, `${kvRows} kv audit rows for ${denied} denied calls in ${seconds.toFixed(1)} s`);
  const summaries = rows.filter((e) => e.capability === 'audit.rate');
  assert.ok(summaries.length >= 1, 'a row says how many were dropped');
  const droppedSaid = summaries.reduce((n, e) => n + Number(/^(\d+) more/.exec(e.attempted)![1]), 0);
  assert.is(droppedSaid + kvRows, denied, 'every denied call is either a row or counted in a summary row');
  await host.recordSandboxes(); // prunes: the policy keeps 300 audit rows per vendor
  const kept = host.records.audit({ vendor: 'Rogue Labs' }).length;
  assert.ok(kept <= 300, `${kept} audit rows kept`);
  assert.ok(during < withinFactor(baseline), `victim ${during.toFixed(1)} ms, baseline ${baseline.toFixed(1)} ms`);
});

test("audit eviction: a vendor flooding its own audit rows past the quota prunes only its own, never another vendor's", async () => {
  // Redteam finding 11: retention was global, so a flood within the rate limits evicted every other
  // vendor's audit trail. The victim's vendor has no kv quota: its app asking for kv is audited.
  await host.start(appPackage(dataDir, { appId: 'victim-kv', vendor: 'Victim Co', wasm: 'hello-as/build/hello.wasm', capabilities: '{ kv: { quota: 1Ki } }' }));
  await host.ended('victim-kv');
  const victimRows = audit('victim-kv');
  assert.ok(victimRows.length > 0 && victimRows.every((e) => e.vendor === 'Victim Co'), 'the victim was denied kv at its start');
  for (let i = 0; i < 4; i++) {
    await host.start(rogue(`rogue-evict-${i}`, 'vendors/build/rogue-exhaust.wasm', { attack: 'audit', 'hold-ms': '1000' }));
    await host.ended(`rogue-evict-${i}`);
  }
  host.flushLogs();
  const written = host.records.audit({ vendor: 'Rogue Labs' }).length;
  await host.recordSandboxes();
  while (host.records.audit({ vendor: 'Rogue Labs' }).length > 300) await host.recordSandboxes();
  assert.ok(written > 300, `the flood wrote ${written} rows, past the quota of 300`);
  assert.equal(audit('victim-kv'), victimRows, "the victim's rows are all kept");
});

test('kv: apps of one vendor filling their own namespaces stay within the one vendor kvQuota together', async () => {
  // Redteam finding 7: the quota applied per namespace, so N apps stored N x the vendor's 8 KiB.
  const stored: number[] = [];
  for (let i = 0; i < 4; i++) {
    const appId = `rogue-kv-${i}`;
    await host.start(appPackage(dataDir, { appId, vendor: 'Rogue Labs', wasm: 'vendors/build/rogue-probe.wasm', capabilities: '{ kv: { quota: 8Ki } }' }));
    assert.is(await host.ended(appId), 'completed');
    const line = logs(appId).find((m) => m.startsWith('probe kv-quota'));
    assert.ok(line && /^probe kv-quota: refused after \d+ KiB/.test(line), line ?? logs(appId).join('\n'));
    stored.push(Number(/after (\d+) KiB/.exec(line!)![1]));
  }
  assert.ok(stored.reduce((a, b) => a + b, 0) <= 8, `the apps stored ${stored.join(' + ')} KiB against the vendor's 8 KiB`);
  assert.is(stored[3], 0, 'the last app finds the vendor quota used up');
  assert.match(logs('rogue-kv-3').find((m) => m.startsWith('probe kv-quota'))!, /over its kv quota of 8192 for all its apps/);
});

test('message flood: the flooded subscriber degrades (drops, counted on both sides) and is not stopped for CPU', async () => {
  const dashboard = appPackage(dataDir, {
    appId: 'globex-dashboard', vendor: 'Globex Analytics', wasm: 'vendors/build/dashboard.wasm',
    capabilities: '{ kv: {}, messaging: { subscribe: ["plant/+/temperature"], queue: { messages: 16, overflow: drop-oldest } } }',
  });
  assert.is(await host.start(dashboard), 'running');
  const flood = rogue('rogue-flood', 'vendors/build/rogue-exhaust.wasm', { attack: 'flood', 'hold-ms': '3000', size: '65536', topic: 'plant/rogue/temperature' },
    '{ messaging: { publish: ["plant/rogue/temperature"] } }');
  assert.is(await host.start(flood), 'running');
  await new Promise((r) => setTimeout(r, 1500));
  const during = await victim.rttMs();
  assert.is(await host.ended('rogue-flood'), 'completed');
  await new Promise((r) => setTimeout(r, 1500)); // the queue drains; the watchdog has seen a full window
  await host.recordSandboxes();
  assert.is(host.records.app('globex-dashboard')!.actual, 'running', host.records.app('globex-dashboard')!.reason ?? '');
  const published = Number(/published (\d+)/.exec(logs('rogue-flood').find((m) => m.startsWith('exhaust flood'))!)![1]);
  assert.ok(published > 100, `published ${published}`);
  assert.ok(logs('globex-dashboard').some((m) => /^message queue full: \d+ messages dropped \(drop-oldest, queue of 16 messages/.test(m)), 'the subscriber is told');
  assert.ok(logs('rogue-flood').some((m) => /published messages were dropped by subscribers whose queues were full/.test(m)), 'the publisher is told');
  const usage = host.resources.vendors();
  assert.ok(usage.find((r) => r.vendor === 'Globex Analytics')!.messagesDropped > 0);
  assert.ok(usage.find((r) => r.vendor === 'Rogue Labs')!.publishedDropped > 0);
  assert.ok(during < withinFactor(baseline), `victim ${during.toFixed(1)} ms, baseline ${baseline.toFixed(1)} ms`);
  await host.stop('globex-dashboard');
});

test('subscription flood: distinct patterns stop at the instance cap, charged and audited; a neighbour publish stays cheap', async () => {
  // Redteam finding 10: 100k patterns under a plant/# grant held 42 MiB outside the ledger and every
  // publish of every vendor scanned them all (~70 ms of the daemon's main thread each). The vendor
  // cap over several instances is in test/unit/subscriptions.test.ts (jobs of one sandbox run in turn).
  const neighbourPublishMs = () => {
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) host.bus.publish('acme/line2/pressure', new Uint8Array(16));
    return (performance.now() - t0) / 200;
  };
  const before = { ms: neighbourPublishMs(), patterns: host.bus.subscriptions, bytes: host.ledgerOf('Rogue Labs')!.usage().hostBytes };
  const app = rogue('rogue-subs', 'vendors/build/rogue-exhaust.wasm', { attack: 'subscribe', topic: 'plant/rogue', 'hold-ms': '1500' },
    '{ messaging: { subscribe: ["plant/#"] } }');
  assert.is(await host.start(app), 'running');
  let line: string | undefined;
  for (let i = 0; i < 100 && !(line = logs('rogue-subs').find((m) => m.startsWith('exhaust subscribe'))); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(line && /^exhaust subscribe: subscribed 1500, then: subscription limit: the instance holds 1500 subscriptions, its cap/.test(line), line ?? logs('rogue-subs').join('\n'));
  await new Promise((r) => setTimeout(r, 100)); // the last subscribe messages reach the bus
  const during = { ms: neighbourPublishMs(), patterns: host.bus.subscriptions, bytes: host.ledgerOf('Rogue Labs')!.usage().hostBytes };
  const rtt = await victim.rttMs();
  assert.is(during.patterns - before.patterns, 1500, 'the bus holds no more than the cap');
  assert.ok(during.bytes - before.bytes >= 1500 * 249 * 2, `the patterns are charged to the vendor's host memory (${during.bytes - before.bytes} bytes)`);
  assert.is(audit('rogue-subs').filter((e) => e.capability === 'limits.subscriptions').length, 1, 'the refusal is audited');
  // Before the index each publish scanned every pattern (1500 long ones: ~1 ms); now a few µs.
  assert.ok(during.ms < Math.max(10 * before.ms, 0.2), `a neighbour's publish ${during.ms.toFixed(4)} ms with 1500 patterns held, ${before.ms.toFixed(4)} ms before`);
  assert.ok(rtt < withinFactor(baseline), `victim ${rtt.toFixed(1)} ms, baseline ${baseline.toFixed(1)} ms`);
  assert.is(await host.ended('rogue-subs'), 'completed');
  assert.is(host.bus.subscriptions, before.patterns, 'the patterns go with the instance');
  assert.is(host.ledgerOf('Rogue Labs')!.usage().hostBytes, before.bytes, 'and so does their charge');
});

test('publish rate: past the vendor rate the guest gets denied, audited at a bounded rate', async () => {
  const flood = rogue('rogue-rate', 'vendors/build/rogue-exhaust.wasm', { attack: 'flood', 'hold-ms': '1000', size: '100', topic: 'plant/rogue/x' },
    '{ messaging: { publish: ["plant/rogue/x"] } }');
  await host.start(flood);
  assert.is(await host.ended('rogue-rate'), 'completed');
  const [, sent, refused] = /published (\d+), refused (\d+)/.exec(logs('rogue-rate').find((m) => m.startsWith('exhaust flood'))!)!.map(Number);
  assert.ok(sent! <= 300 * 2.5, `sent ${sent} in a second at 300/s`);
  assert.ok(refused! > 0);
  const rows = audit('rogue-rate').filter((e) => e.capability === 'messaging.rate');
  assert.ok(rows.length > 0 && rows.length <= 150, `${rows.length} rate audit rows`);
});

test('after every attack: the victim is as healthy as before, nothing is held, the host still starts apps', async () => {
  const after = await victim.rttMs(15);
  assert.ok(after < withinFactor(baseline), `victim ${after.toFixed(1)} ms after, baseline ${baseline.toFixed(1)} ms`);
  const u = host.ledgerOf('Rogue Labs')!.usage();
  assert.is(u.hostBytes, 0);
  assert.is(u.fds, 0);
  const again = rogue('rogue-again', 'vendors/build/rogue-exhaust.wasm', { attack: 'fds', 'hold-ms': '10' });
  await host.start(again);
  assert.is(await host.ended('rogue-again'), 'completed');
});

test.run();
