// The device's message bus between sandboxes: the only sanctioned path between vendors. Topic
// permissions were checked inside the publishing/subscribing sandbox; the bus routes, and bounds
// what a publisher can make a subscriber hold and do.
//
// Each subscribing instance has its own bounded queue (messages and bytes, the bytes charged to the
// subscriber's vendor as host memory). When it is full, the subscriber's manifest decides: drop the
// oldest queued message, or reject the new one. Messages go to the subscriber one at a time (the
// next after its sandbox says the last was handled) and only while its vendor has CPU headroom, so
// a flood becomes drops counted on both sides, never a subscriber stopped for CPU it was made to
// spend.
//
// Subscriptions are counted and charged where the guest asks for them (bulkhead/messaging.ts: a cap
// per instance and per vendor, their bytes in the vendor's host memory); the bus keeps the same
// per-instance cap as a backstop and finds a topic's subscribers through a TopicIndex, so a publish
// never scans every subscription.
import type { InstanceResources } from '../../host-apis/limits/resource-ledger.js';
import { TopicIndex } from './topic-index.js';

export type Deliver = (instanceId: string, topic: string, payload: Uint8Array) => void;

export type QueueOverflow = 'drop-oldest' | 'reject';
export interface QueueLimits { messages: number; bytes: number; overflow: QueueOverflow }
export const DEFAULT_QUEUE_LIMITS: QueueLimits = { messages: 64, bytes: 1024 * 1024, overflow: 'drop-oldest' };

export interface Subscriber {
  deliver: Deliver;
  queue: QueueLimits;
  /** Charged for the bytes waiting in the queue (the subscriber's vendor's host memory). */
  resources?: InstanceResources;
  /** Whether the subscriber's sandbox may take a delivery now (CPU headroom). */
  ready?: () => boolean;
  /** The subscriber says when it has handled each message (`handled`); else delivery is immediate. */
  acks?: boolean;
  /** Distinct patterns the instance may hold (the guest side refuses past it first). */
  maxPatterns?: number;
}

interface Queued { topic: string; payload: Uint8Array; from: string | undefined }

interface Subscription {
  patterns: Set<string>;
  sub: Subscriber;
  queue: Queued[];
  bytes: number;
  inFlight: boolean;
  retry?: NodeJS.Timeout;
  /** Messages this subscriber lost to its full queue. */
  dropped: number;
}

const RETRY_MS = 20;

export class MessageBus {
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #index = new TopicIndex<string>();
  /** Per publishing instance: its messages some subscriber's full queue lost. */
  readonly #droppedFrom = new Map<string, number>();
  published = 0;
  delivered = 0;

  /** False when the instance already holds its cap of patterns (the pattern is not added). */
  subscribe(instanceId: string, pattern: string, deliverOrSubscriber: Deliver | Subscriber): boolean {
    const sub: Subscriber = typeof deliverOrSubscriber === 'function' ? { deliver: deliverOrSubscriber, queue: DEFAULT_QUEUE_LIMITS } : deliverOrSubscriber;
    let s = this.#subscriptions.get(instanceId);
    if (!s) this.#subscriptions.set(instanceId, (s = { patterns: new Set(), sub, queue: [], bytes: 0, inFlight: false, dropped: 0 }));
    if (s.patterns.has(pattern)) return true;
    if (s.patterns.size >= (s.sub.maxPatterns ?? Infinity)) return false;
    s.patterns.add(pattern);
    this.#index.add(pattern, instanceId);
    return true;
  }

  /** Patterns held for all instances (for status and tests). */
  get subscriptions(): number {
    return this.#index.size;
  }

  unsubscribeAll(instanceId: string): void {
    const s = this.#subscriptions.get(instanceId);
    if (!s) return;
    clearTimeout(s.retry);
    for (const p of s.patterns) this.#index.remove(p, instanceId);
    s.sub.resources?.freeBytes(s.bytes);
    this.#subscriptions.delete(instanceId);
  }

  /** `from`: the publishing instance, told (through its counters) what subscribers dropped. */
  publish(topic: string, payload: Uint8Array, from?: string): void {
    this.published++;
    for (const instanceId of this.#index.match(topic)) {
      const s = this.#subscriptions.get(instanceId);
      if (s) this.#enqueue(instanceId, s, { topic, payload, from });
    }
  }

  #drop(s: Subscription, m: Queued): void {
    s.dropped++;
    if (m.from !== undefined) this.#droppedFrom.set(m.from, (this.#droppedFrom.get(m.from) ?? 0) + 1);
  }

  #take(s: Subscription, bytes: number): boolean {
    if (s.queue.length >= s.sub.queue.messages || s.bytes + bytes > s.sub.queue.bytes) return false;
    try {
      s.sub.resources?.takeBytes(bytes, 'a message queue');
    } catch {
      return false; // the subscriber's vendor is out of host memory: the queue is full for it
    }
    s.bytes += bytes;
    return true;
  }

  #enqueue(instanceId: string, s: Subscription, m: Queued): void {
    const size = m.payload.length + m.topic.length;
    while (!this.#take(s, size)) {
      const oldest = s.sub.queue.overflow === 'drop-oldest' ? s.queue.shift() : undefined;
      if (!oldest) {
        this.#drop(s, m);
        return;
      }
      this.#release(s, oldest);
      this.#drop(s, oldest);
    }
    s.queue.push(m);
    this.#pump(instanceId, s);
  }

  #release(s: Subscription, m: Queued): void {
    const size = m.payload.length + m.topic.length;
    s.bytes -= size;
    s.sub.resources?.freeBytes(size);
  }

  #pump(instanceId: string, s: Subscription): void {
    if (s.inFlight || s.retry || s.queue.length === 0) return;
    if (s.sub.ready && !s.sub.ready()) {
      s.retry = setTimeout(() => {
        s.retry = undefined;
        if (this.#subscriptions.get(instanceId) === s) this.#pump(instanceId, s);
      }, RETRY_MS);
      s.retry.unref();
      return;
    }
    while (s.queue.length > 0 && !s.inFlight) {
      const m = s.queue.shift()!;
      this.#release(s, m);
      s.inFlight = !!s.sub.acks;
      this.delivered++;
      s.sub.deliver(instanceId, m.topic, m.payload);
    }
  }

  /** The subscriber's sandbox has handled the last delivery: send the next. */
  handled(instanceId: string): void {
    const s = this.#subscriptions.get(instanceId);
    if (!s) return;
    s.inFlight = false;
    this.#pump(instanceId, s);
  }

  /** Drop counts since the last call, per subscriber and per publisher (then reset). */
  takeDropCounts(): { subscribers: Map<string, { dropped: number; queue: QueueLimits }>; publishers: Map<string, number> } {
    const subscribers = new Map<string, { dropped: number; queue: QueueLimits }>();
    for (const [id, s] of this.#subscriptions) {
      if (s.dropped > 0) subscribers.set(id, { dropped: s.dropped, queue: s.sub.queue });
      s.dropped = 0;
    }
    const publishers = new Map(this.#droppedFrom);
    this.#droppedFrom.clear();
    return { subscribers, publishers };
  }

  /** Messages waiting for `instanceId` (for status and tests). */
  queued(instanceId: string): number {
    return this.#subscriptions.get(instanceId)?.queue.length ?? 0;
  }
}
