// Subscriptions (redteam finding 10): what the daemon's main thread pays per publish while one
// vendor holds many patterns, with the topic index and with the linear scan it replaced; and the
// heap one subscription really takes, against what subscriptionBytes() charges the vendor.
// Run: node --expose-gc --import tsx bench/subscriptions.bench.ts
import { topicMatches } from '../host-apis/capabilities/grant.js';
import { subscriptionBytes } from '../host-apis/bulkhead/subscription-limits.js';
import { MessageBus } from '../runtime/apps/message-bus.js';
import { writeReport } from './support/report.js';
import type { Sample } from './support/stats.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const heap = () => (gc(), gc(), process.memoryUsage().heapUsed);

// The flood of the PoC: "plant/aaa...a/00000042", 249 characters, no wildcard.
const exact = (i: number) => `plant/${'a'.repeat(233)}/${String(i).padStart(8, '0')}`;
// The worst shape for the trie: wildcard patterns of 1-character levels that part at the second
// level (a node of their own per level).
const wild = (i: number) => `plant/${String(i).padStart(8, '0')}/${'x/'.repeat(60)}+`;

function busWith(n: number, pattern: (i: number) => string): MessageBus {
  const bus = new MessageBus();
  const sub = { deliver: () => {}, queue: { messages: 64, bytes: 1 << 20, overflow: 'drop-oldest' as const } };
  bus.subscribe('neighbour', 'acme/line2/#', sub);
  for (let i = 0; i < n; i++) bus.subscribe('flooder', pattern(i), sub);
  return bus;
}

/** Per publish of another vendor's topic, in us: a median of runs of 200 publishes. */
function publishUs(publish: () => void): number[] {
  const out: number[] = [];
  for (let r = 0; r < 15; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) publish();
    out.push(((performance.now() - t0) / 200) * 1000);
  }
  return out;
}

const rows: Sample[] = [];
const payload = new Uint8Array(16);
for (const n of [0, 1500, 4096, 100_000]) {
  const bus = busWith(n, exact);
  rows.push({ label: `publish with ${n} patterns held, topic index`, unit: 'us', samples: publishUs(() => bus.publish('acme/line2/pressure', payload)) });
  bus.unsubscribeAll('neighbour');
  bus.unsubscribeAll('flooder');
  // The scan the index replaced (message-bus.ts before): every pattern of every subscriber.
  const patterns = [Array.from({ length: n }, (_, i) => exact(i)), ['acme/line2/#']];
  const scan = () => { for (const ps of patterns) for (const p of ps) if (topicMatches(p, 'acme/line2/pressure')) break; };
  rows.push({ label: `publish with ${n} patterns held, linear scan (before)`, unit: 'us', samples: publishUs(scan) });
}

const extra: string[] = [];
for (const [name, pattern] of [['exact, 249 chars', exact], ['wildcard, 63 levels', wild]] as const) {
  const n = 20_000;
  const h0 = heap();
  const bus = busWith(n, pattern);
  const per = (heap() - h0) / n;
  const charged = subscriptionBytes(pattern(1));
  rows.push({ label: `heap per subscription (${name})`, unit: 'bytes', samples: [per], note: `charged ${charged} bytes (subscriptionBytes)` });
  extra.push(`- ${name}: measured ${per.toFixed(0)} bytes on the bus, charged ${charged}${charged >= per ? '' : ' (UNDER-CHARGED)'}`);
  bus.unsubscribeAll('flooder');
}

writeReport('subscriptions', 'Subscriptions: publish cost while one vendor holds many patterns; heap per subscription', rows, [
  'Publish: one publish to another vendor\'s topic on the daemon\'s MessageBus (median of 15 runs of 200), no delivery to the flooder.',
  'Heap: main-thread heap of 20,000 patterns of one instance, after gc, divided by 20,000 (the guest side is charged subscriptionBytes()).',
  ...extra,
]);
