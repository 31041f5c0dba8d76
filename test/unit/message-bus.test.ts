// The message bus's per-subscriber queues: bounded in messages and bytes (the bytes charged to
// the subscriber's vendor), drop-oldest or reject as the subscriber chose, one delivery in flight
// until the subscriber acknowledges it, held back while its vendor has no CPU headroom, and drops
// counted for both the subscriber and the publisher. Also the log/audit table retention.
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeviceFdBudget, ResourceLedger, UNLIMITED } from '../../host-apis/limits/resource-ledger.js';
import { MessageBus, type QueueLimits } from '../../runtime/apps/message-bus.js';
import { AppRecords } from '../../runtime/apps/app-records.js';
import { RecordRetention } from '../../runtime/apps/record-retention.js';
import { DEFAULT_STATE_LIMITS } from '../../runtime/state/state-limits.js';

const msg = (n: number) => new Uint8Array([n]);

function subscriber(queue: QueueLimits, ready = () => true) {
  const got: number[] = [];
  const ledger = new ResourceLedger({ ...UNLIMITED, hostBytes: 1000 }, { vendor: new SharedArrayBuffer(24), device: DeviceFdBudget.create(10) });
  const resources = ledger.instance('sub');
  return { got, ledger, sub: { deliver: (_id: string, _t: string, p: Uint8Array) => got.push(p[0]!), queue, resources, ready, acks: true } };
}

test('drop-oldest keeps the newest messages; the publisher and the subscriber are both counted', () => {
  const bus = new MessageBus();
  const s = subscriber({ messages: 3, bytes: 1 << 20, overflow: 'drop-oldest' });
  bus.subscribe('sub', 'a/#', s.sub);
  for (let i = 0; i < 10; i++) bus.publish('a/b', msg(i), 'pub');
  assert.equal(s.got, [0], 'one in flight until acknowledged');
  assert.is(bus.queued('sub'), 3);
  for (let i = 0; i < 5; i++) bus.handled('sub');
  assert.equal(s.got, [0, 7, 8, 9]);
  const drops = bus.takeDropCounts();
  assert.is(drops.subscribers.get('sub')!.dropped, 6);
  assert.is(drops.publishers.get('pub'), 6);
  assert.is(s.ledger.usage().hostBytes, 0, 'delivered messages no longer count');
});

test('reject keeps the oldest; the byte bound and the vendor budget both count; unsubscribing frees the queue', () => {
  const bus = new MessageBus();
  const s = subscriber({ messages: 100, bytes: 20, overflow: 'reject' });
  bus.subscribe('sub', 'a/b', s.sub);
  for (let i = 0; i < 10; i++) bus.publish('a/b', msg(i), 'pub'); // 4 bytes each (topic + payload)
  assert.is(bus.queued('sub'), 5, 'delivering one, five queued: 20 bytes');
  assert.is(s.ledger.usage().hostBytes, 20);
  bus.handled('sub');
  assert.equal(s.got, [0, 1]);
  bus.unsubscribeAll('sub');
  assert.is(s.ledger.usage().hostBytes, 0);
});

test('no delivery while the subscriber has no CPU headroom; it resumes when it has', async () => {
  const bus = new MessageBus();
  let headroom = false;
  const s = subscriber({ messages: 10, bytes: 1 << 20, overflow: 'drop-oldest' }, () => headroom);
  bus.subscribe('sub', '#', s.sub);
  bus.publish('x', msg(1));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(s.got, []);
  headroom = true;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(s.got, [1]);
});

test('retention: the log and audit tables keep the newest rows and nothing older than the age, in batches', () => {
  const db = new Database(':memory:');
  const records = new AppRecords(db);
  const old = new Date(Date.now() - 3 * 86_400_000).toISOString();
  records.addLogs([...Array(1200)].map((_, i) => ({ appId: 'a', component: 'c', at: i < 100 ? old : new Date().toISOString(), level: 'info', message: `m${i}`, fields: {} })));
  for (let i = 0; i < 50; i++) records.addAudit({ at: old, vendor: 'v', appId: 'a', component: 'c', capability: 'kv', attempted: 'x', reason: 'y' });
  const retention = new RecordRetention(db, () => ({ ...DEFAULT_STATE_LIMITS, logRows: 1000, maxAgeMs: 86_400_000 }));
  assert.is(retention.pruneBatch(), 200 + 50, 'the logs beyond the newest 1000, all the old audit rows');
  while (retention.pruneBatch() > 0);
  const logs = records.logs('a');
  assert.is(logs.length, 1000);
  assert.is(logs[0]!.message, 'm200');
  assert.is(records.audit().length, 0);
});

test.run();
