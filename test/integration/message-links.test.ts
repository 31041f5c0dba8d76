// Direct links between vendors' sandboxes (issue 16): messages go thread to thread, and still only
// where grants allow. Each test runs real C guests (samples/) in real sandbox threads: the echo
// service (Victim Co: subscribes bench/ping, publishes bench/pong) answers whatever reaches it, and
// a probe on the supervisor's side counts the pongs, so every message that crossed a link shows.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppHost } from '../../runtime/apps/app-host.js';
import { loadDevicePolicy } from '../../runtime/state/device-policy.js';
import { openStateDb } from '../../runtime/state/state-db.js';
import { appPackage, dataDirWithPolicy } from '../support/victim.js';

const policy = (echoSubscribe: string) => `vendors:
  Victim Co:
    wasm: { publish: ["bench/pong"], subscribe: [${echoSubscribe}], memory: 16Mi }
  Pinger Co:
    wasm: { publish: ["bench/ping"], subscribe: ["bench/pong"], publishRate: 100000, memory: 16Mi }
  No Grant Co:
    wasm: { subscribe: ["bench/pong"], memory: 16Mi }
  Rogue Labs:
    wasm: { publish: ["bench/ping"], publishRate: 50, publishBytes: 1Mi, memory: 16Mi, cpu: 1 }
`;
const dataDir = dataDirWithPolicy(policy('"bench/ping"'));
const db = openStateDb(dataDir);
const host = new AppHost({ dataDir, db, policy: () => loadDevicePolicy(dataDir) });
let pongs = 0;
host.bus.subscribe('test-probe', 'bench/pong', { deliver: () => { pongs++; }, queue: { messages: 100000, bytes: 64 * 1024 * 1024, overflow: 'reject' } });

const echo = () => appPackage(dataDir, {
  appId: 'victim-echo', vendor: 'Victim Co', wasm: 'bench-c/build/echo.wasm',
  capabilities: '{ messaging: { publish: [bench/pong], subscribe: [bench/ping] } }',
});
const pinger = (appId: string, vendor: string, rounds = 50) => appPackage(dataDir, {
  appId, vendor, wasm: 'bench-c/build/pinger.wasm', params: { rounds: String(rounds) },
  capabilities: '{ messaging: { publish: [bench/ping], subscribe: [bench/pong] } }',
});
const logs = (appId: string) => (host.flushLogs(), host.records.logs(appId).map((l) => l.message));
const audit = (appId: string) => (host.flushLogs(), host.records.audit({ appId }));
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await settle(20);
  }
}

test.after(async () => {
  await host.close();
  db.close();
});

test('two vendors talk over their link: every ping is answered, thread to thread', async () => {
  assert.is(await host.start(echo()), 'running');
  assert.is(await host.start(pinger('pinger', 'Pinger Co')), 'running');
  await until('the pinger to finish its 50 rounds', () => logs('pinger').includes('bench'));
  assert.is(pongs, 50, 'the probe saw each pong once');
  await host.stop('pinger');
});

test('hostile: a vendor without a publish grant reaches nobody over its link, and is audited', async () => {
  pongs = 0;
  assert.is(await host.start(pinger('no-grant', 'No Grant Co')), 'running');
  await settle(500);
  assert.is(pongs, 0, 'the echo received nothing');
  assert.ok(audit('no-grant').some((e) => e.capability === 'messaging.publish' && /not within the granted publish topics/.test(e.reason)));
  await host.stop('no-grant');
});

test('hostile: a stopped subscriber gets nothing more over the link; a revoked subscribe grant keeps it that way', async () => {
  await host.stop('victim-echo');
  pongs = 0;
  // The link between the two sandboxes is still there (both threads live); nothing may use it for the ended echo.
  assert.is(await host.start(pinger('pinger-after-stop', 'Pinger Co')), 'running');
  await settle(500);
  assert.is(pongs, 0);
  assert.not.ok(logs('pinger-after-stop').includes('bench'));
  await host.stop('pinger-after-stop');
  // The operator takes bench/ping away from Victim Co: the echo cannot subscribe, so nothing reaches it.
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), policy(''));
  await host.start(echo());
  assert.ok(audit('victim-echo').some((e) => e.capability === 'messaging.subscribe'));
  assert.is(await host.start(pinger('pinger-revoked', 'Pinger Co')), 'running');
  await settle(500);
  assert.is(pongs, 0);
  await host.stop('pinger-revoked');
  await host.stop('victim-echo');
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), policy('"bench/ping"'));
});

test('hostile: a flood over a link still stops at the publisher\'s rate (denied, audited); the subscriber sees no more', async () => {
  assert.is(await host.start(echo()), 'running');
  pongs = 0;
  const flood = appPackage(dataDir, {
    appId: 'rogue-flood', vendor: 'Rogue Labs', wasm: 'vendors/build/rogue-exhaust.wasm',
    params: { attack: 'flood', 'hold-ms': '1000', size: '16', topic: 'bench/ping' },
    capabilities: '{ messaging: { publish: ["bench/ping"] } }',
  });
  await host.start(flood);
  assert.is(await host.ended('rogue-flood'), 'completed');
  const [, sent, refused] = /published (\d+), refused (\d+)/.exec(logs('rogue-flood').find((m) => m.startsWith('exhaust flood'))!)!.map(Number);
  assert.ok(sent! <= 50 * 2.5, `sent ${sent} in a second at 50/s`);
  assert.ok(refused! > 1000, `refused ${refused}`);
  assert.ok(audit('rogue-flood').some((e) => e.capability === 'messaging.rate'));
  await settle(300);
  assert.ok(pongs <= sent!, `${pongs} pongs for ${sent} pings`);
  assert.ok(pongs > 0, 'what the rate let through was delivered');
  await host.stop('victim-echo');
});

test.run();
