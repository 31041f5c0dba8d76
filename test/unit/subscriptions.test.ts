// Subscriptions (redteam finding 10): the topic index finds exactly the subscribers topicMatches
// would, and a vendor's patterns are capped per instance and over all its instances, charged to
// its host memory, audited when refused, and given back when the instance ends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { topicMatches } from '../../host-apis/capabilities/grant.js';
import { createMessaging } from '../../host-apis/bulkhead/messaging.js';
import { SubscriptionBudget, subscriptionBytes } from '../../host-apis/bulkhead/subscription-limits.js';
import { DeviceFdBudget, ResourceLedger, UNLIMITED } from '../../host-apis/limits/resource-ledger.js';
import type { DenialReport } from '../../host-apis/bulkhead/audit.js';
import { MessageBus } from '../../runtime/apps/message-bus.js';
import { TopicIndex } from '../../runtime/apps/topic-index.js';

test('the index matches what topicMatches matches, before and after removals', () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const levels = ['a', 'b', 'c', ''];
  const pattern = () => {
    const n = 1 + rnd(4);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(i === n - 1 && rnd(4) === 0 ? '#' : rnd(3) === 0 ? '+' : levels[rnd(4)]!);
    return out.join('/');
  };
  const topic = () => Array.from({ length: 1 + rnd(4) }, () => levels[rnd(4)]!).join('/');
  const index = new TopicIndex<number>();
  const patterns = Array.from({ length: 300 }, pattern);
  patterns.forEach((p, i) => index.add(p, i));
  const check = (live: (i: number) => boolean) => {
    for (let k = 0; k < 500; k++) {
      const t = topic();
      const want = patterns.flatMap((p, i) => (live(i) && topicMatches(p, t) ? [i] : [])).sort((x, y) => x - y);
      assert.equal([...index.match(t)].sort((x, y) => x - y), want, `topic ${JSON.stringify(t)}`);
    }
  };
  check(() => true);
  patterns.forEach((p, i) => i % 2 === 0 && assert.ok(index.remove(p, i)));
  check((i) => i % 2 === 1);
  patterns.forEach((p, i) => i % 2 === 1 && index.remove(p, i));
  assert.is(index.size, 0);
  assert.equal([...index.match('a/b')], []);
});

test('a publish reaches each subscriber once however many of its patterns match', () => {
  const bus = new MessageBus();
  const got: string[] = [];
  for (const p of ['plant/#', 'plant/+/t', 'plant/l1/t', '#']) bus.subscribe('one', p, (id, t) => got.push(`${id} ${t}`));
  bus.subscribe('two', 'other/#', (id, t) => got.push(`${id} ${t}`));
  bus.publish('plant/l1/t', new Uint8Array(1));
  assert.equal(got, ['one plant/l1/t']);
});

test('the bus holds at most maxPatterns per instance (the backstop behind the guest-side cap)', () => {
  const bus = new MessageBus();
  const sub = { deliver: () => {}, queue: { messages: 1, bytes: 100, overflow: 'reject' as const }, maxPatterns: 2 };
  assert.ok(bus.subscribe('i', 'a', sub));
  assert.ok(bus.subscribe('i', 'b', sub));
  assert.ok(bus.subscribe('i', 'a', sub), 'a pattern held already is no new one');
  assert.not.ok(bus.subscribe('i', 'c', sub));
  assert.is(bus.subscriptions, 2);
  bus.unsubscribeAll('i');
  assert.is(bus.subscriptions, 0);
});

function vendor(hostBytes = UNLIMITED.hostBytes, limits = { perInstance: 3, perVendor: 5 }) {
  const ledger = new ResourceLedger({ ...UNLIMITED, hostBytes }, { vendor: new SharedArrayBuffer(24), device: DeviceFdBudget.create(10) });
  const budget = new SubscriptionBudget(limits);
  const sent: string[] = [];
  const audit: DenialReport[] = [];
  const instance = (id: string) => {
    const resources = ledger.instance(id, (resource, attempted, reason) => audit.push({ capability: `limits.${resource}`, attempted, reason }));
    const subs = budget.instance(resources);
    const m = createMessaging({ publish: [], subscribe: ['plant/#'] }, { publish: () => {}, subscribe: (p) => sent.push(`${id} ${p}`) }, (d) => audit.push(d), undefined, subs);
    return { m, subs, resources };
  };
  return { ledger, budget, sent, audit, instance };
}

const refusal = (fn: () => void) => {
  try {
    fn();
  } catch (err) {
    return (err as { payload: { tag: string; val: string } }).payload;
  }
  return undefined;
};

test('past the instance cap, then past the vendor cap over two instances: denied, audited, nothing sent to the bus', () => {
  const v = vendor();
  const a = v.instance('a');
  const b = v.instance('b');
  for (const p of ['plant/1', 'plant/2', 'plant/3', 'plant/1']) a.m.subscribe(p);
  assert.is(a.subs.count, 3);
  const overInstance = refusal(() => a.m.subscribe('plant/4'));
  assert.is(overInstance?.tag, 'denied');
  assert.match(overInstance!.val, /the instance holds 3 subscriptions, its cap \(policy wasm\.subscriptions\)/);
  b.m.subscribe('plant/5');
  b.m.subscribe('plant/6');
  const overVendor = refusal(() => b.m.subscribe('plant/7'));
  assert.match(overVendor!.val, /the vendor's instances hold 5 subscriptions, its cap \(policy wasm\.subscriptionsTotal\)/);
  assert.equal(v.sent, ['a plant/1', 'a plant/2', 'a plant/3', 'b plant/5', 'b plant/6']);
  assert.equal(v.audit.map((d) => [d.capability, d.attempted]), [['limits.subscriptions', 'subscribe to plant/4'], ['limits.subscriptions', 'subscribe to plant/7']]);
  assert.is(v.ledger.usage().hostBytes, ['plant/1', 'plant/2', 'plant/3', 'plant/5', 'plant/6'].reduce((n, p) => n + subscriptionBytes(p), 0));
  // The first instance ends: its patterns and their bytes go back to the vendor.
  a.subs.release();
  a.resources.release();
  assert.is(v.budget.held, 2);
  b.m.subscribe('plant/7');
  assert.is(v.ledger.usage().hostBytes, ['plant/5', 'plant/6', 'plant/7'].reduce((n, p) => n + subscriptionBytes(p), 0));
});

test("a subscription past the vendor's host memory is refused with the ledger's reason and does not count", () => {
  const v = vendor(subscriptionBytes('plant/1') + 10, { perInstance: 100, perVendor: 100 });
  const a = v.instance('a');
  a.m.subscribe('plant/1');
  const r = refusal(() => a.m.subscribe('plant/2'));
  assert.match(r!.val, /the vendor's host buffers would exceed/);
  assert.is(v.budget.held, 1);
  assert.equal(v.audit.map((d) => d.capability), ['limits.host-memory'], 'audited once, by the ledger');
});

test.run();
