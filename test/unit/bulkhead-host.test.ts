// The bulkhead:host interfaces as a guest sees them: results, errors, and what gets audited.
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DenialReport } from '../../host-apis/bulkhead/audit.js';
import { createConfig } from '../../host-apis/bulkhead/config.js';
import { createKv } from '../../host-apis/bulkhead/kv.js';
import { KvStore } from '../../host-apis/bulkhead/kv-store.js';
import { createLog, type LogRecord } from '../../host-apis/bulkhead/log.js';
import { createMessaging } from '../../host-apis/bulkhead/messaging.js';
import { guestErrorPayload } from '../support/guest-errors.js';
import { tempDir } from '../support/paths.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const payloadOf = guestErrorPayload;

// A real SQLite file, as on a device.
const store = () => new KvStore(new Database(`${tempDir()}/state.db`));

test('kv: get/set/delete/list-keys within the granted namespace', () => {
  const audit: DenialReport[] = [];
  const kv = createKv(store(), { namespace: 'Globex/dash', quotaBytes: 1024 }, (d) => audit.push(d));
  assert.is(kv.get('count'), undefined);
  kv.set('count', bytes('1'));
  kv.set('count', bytes('22'));
  kv.set('min', bytes('3'));
  assert.equal(new TextDecoder().decode(kv.get('count')!), '22');
  assert.equal(kv.listKeys(''), ['count', 'min']);
  assert.equal(kv.listKeys('co'), ['count']);
  kv.delete('count');
  kv.delete('never-there');
  assert.equal(kv.listKeys(''), ['min']);
  assert.equal(audit, []);
});

test('kv: namespaces are separate even in one database', () => {
  const s = store();
  const a = createKv(s, { namespace: 'A/app', quotaBytes: 100 }, () => {});
  const b = createKv(s, { namespace: 'B/app', quotaBytes: 100 }, () => {});
  a.set('secret', bytes('a-only'));
  assert.is(b.get('secret'), undefined);
  assert.equal(b.listKeys(''), []);
});

test('kv read cache: every get after a write, a refused write or a delete sees what SQLite holds', () => {
  const file = `${tempDir()}/state.db`;
  const s = new KvStore(new Database(file));
  const fresh = () => new KvStore(new Database(file)); // no cache: what is on disk
  const kv = createKv(s, { namespace: 'C/app', quotaBytes: 64 * 1024 }, () => {});
  const text = (v: Uint8Array | undefined) => (v ? new TextDecoder().decode(v) : undefined);
  assert.is(kv.get('k'), undefined); // the absence is cached too
  kv.set('k', bytes('one'));
  assert.is(text(kv.get('k')), 'one');
  const written = bytes('two');
  kv.set('k', written);
  written[0] = 0x58; // the guest's buffer changing later changes nothing stored
  assert.is(text(kv.get('k')), 'two');
  assert.is(text(fresh().get('C/app', 'k')), 'two');
  // Refused for the quota: the old value stays, in the cache as on disk.
  assert.equal((payloadOf(() => kv.set('k', new Uint8Array(70 * 1024))) as { tag: string }).tag, 'quota-exceeded');
  assert.is(text(kv.get('k')), 'two');
  // Bigger than what is cached: read through to SQLite, and replaces a cached small value.
  kv.set('k', new Uint8Array(8000).fill(7));
  assert.is(kv.get('k')!.length, 8000);
  kv.delete('k');
  assert.is(kv.get('k'), undefined);
  assert.is(fresh().get('C/app', 'k'), undefined);
  // Namespace and key are not simply joined: ("C/ap", "pk") is not ("C/app", "k").
  kv.set('k', bytes('mine'));
  assert.is(s.get('C/ap', 'pk'), undefined);
  // Many keys: the cache stays bounded and every value stays right.
  for (let i = 0; i < 3000; i++) kv.set(`n${i}`, bytes(String(i)));
  for (let i = 0; i < 3000; i += 7) assert.is(text(kv.get(`n${i}`)), String(i));
});

test('kv: the quota counts keys and values, allows overwrites that shrink, refuses and audits growth past it', () => {
  const s = store();
  const audit: DenialReport[] = [];
  const kv = createKv(s, { namespace: 'R/probe', quotaBytes: 100 }, (d) => audit.push(d));
  kv.set('k', new Uint8Array(90)); // 1 + 90
  assert.is(s.usage('R/probe'), 91);
  assert.equal(payloadOf(() => kv.set('x', new Uint8Array(9))), { tag: 'quota-exceeded', val: 'namespace would hold 101 bytes, over its quota of 100' });
  assert.is(kv.get('x'), undefined, 'nothing written');
  kv.set('k', new Uint8Array(10)); // shrinking is always allowed
  assert.is(s.usage('R/probe'), 11);
  kv.delete('k');
  assert.is(s.usage('R/probe'), 0);
  assert.is(audit.length, 1);
  assert.is(audit[0]!.capability, 'kv.quota');
});

test('kv: without a grant every call is denied and audited; bad keys are invalid', () => {
  const audit: DenialReport[] = [];
  const none = createKv(store(), undefined, (d) => audit.push(d));
  assert.equal((payloadOf(() => none.get('a')) as { tag: string }).tag, 'denied');
  assert.equal((payloadOf(() => none.listKeys('')) as { tag: string }).tag, 'denied');
  assert.is(audit.length, 2);
  const kv = createKv(store(), { namespace: 'A/a', quotaBytes: 10_000 }, () => {});
  assert.equal((payloadOf(() => kv.set('', bytes('v'))) as { tag: string }).tag, 'invalid');
  assert.equal((payloadOf(() => kv.set('k'.repeat(257), bytes('v'))) as { tag: string }).tag, 'invalid');
});

test('messaging: publish and subscribe only within the grant; refusals are audited', () => {
  const audit: DenialReport[] = [];
  const sent: string[] = [];
  const subs: string[] = [];
  const m = createMessaging({ publish: ['plant/line1/#'], subscribe: ['plant/+/temperature'] },
    { publish: (t) => sent.push(t), subscribe: (p) => subs.push(p) }, (d) => audit.push(d));
  m.publish('plant/line1/temperature', bytes('{}'));
  assert.equal(payloadOf(() => m.publish('plant/line2/temperature', bytes('{}'))), { tag: 'denied', val: 'publishing to plant/line2/temperature is not granted' });
  m.subscribe('plant/line7/temperature');
  m.subscribe('plant/+/temperature');
  assert.equal((payloadOf(() => m.subscribe('plant/#')) as { tag: string }).tag, 'denied', 'wider than the grant');
  assert.equal((payloadOf(() => m.subscribe('#')) as { tag: string }).tag, 'denied');
  assert.equal(sent, ['plant/line1/temperature']);
  assert.equal(subs, ['plant/line7/temperature', 'plant/+/temperature']);
  assert.equal(audit.map((a) => `${a.capability} ${a.attempted}`), [
    'messaging.publish plant/line2/temperature', 'messaging.subscribe plant/#', 'messaging.subscribe #']);
});

test('messaging: wildcards in a publish topic, empty topics and oversized payloads are invalid', () => {
  const m = createMessaging({ publish: ['#'], subscribe: ['#'] }, { publish: () => {}, subscribe: () => {} }, () => {});
  for (const t of ['plant/+/x', 'plant/#', '', 'a\0b']) assert.equal((payloadOf(() => m.publish(t, bytes(''))) as { tag: string }).tag, 'invalid', t);
  assert.equal((payloadOf(() => m.subscribe('plant/#/x')) as { tag: string }).tag, 'invalid');
  assert.equal((payloadOf(() => m.publish('a', new Uint8Array(64 * 1024 + 1))) as { tag: string }).tag, 'invalid');
});

test('log: records pass until the burst is spent; then they are dropped, audited once, and counted in the log', () => {
  const records: LogRecord[] = [];
  const audit: DenialReport[] = [];
  const log = createLog((r) => records.push(r), { perSecond: 10, burst: 20, maxBytes: 16 }, (d) => audit.push(d));
  for (let i = 0; i < 1000; i++) log.write('info', `record ${i}`, [['i', String(i)]]);
  assert.ok(records.length >= 20 && records.length <= 22, `${records.length} records kept`);
  assert.is(audit.length, 1);
  assert.is(audit[0]!.capability, 'log.rate');
  log.flush();
  const summary = records.at(-1)!;
  assert.match(summary.message, /^log rate limit: \d+ records dropped$/);
  assert.is(log.droppedTotal() + records.length - 1, 1000);
  log.write('warn', 'x'.repeat(100), []);
  assert.not.ok(records.some((r) => r.message.length > 40), 'long messages are cut');
});

test('config: the deployment parameters, nothing else', () => {
  const c = createConfig({ samples: '12', threshold: '5.0' });
  assert.is(c.get('samples'), '12');
  assert.is(c.get('constructor'), undefined, 'no prototype leaks');
  assert.equal(c.getAll(), [['samples', '12'], ['threshold', '5.0']]);
});

test.run();
