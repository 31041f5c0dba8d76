// A vendor sandbox's end of the message bus. Messages between two vendors' sandboxes go straight
// from one thread to the other over a MessagePort (one hop each way, not two through the
// supervisor). The supervisor decides which sandboxes are linked and makes every link
// (device-bus.ts); guest code never sees a port: links live here, in the sandbox's trusted host
// code, and a guest reaches them only through bulkhead:host/messaging, which checks the topic
// against the publisher's grant and the vendor's publish rate before `publish` is called.
//
// Each side tells the other, over the link itself, which of its instances subscribe to what (all
// of them when the link is made, then each change). Because that travels on the same port as the
// messages, a subscription always arrives before anything its subscriber publishes afterwards (a
// ping's pong cannot overtake the subscription it answers). The receiving side re-matches every
// message against its own current subscriptions (a local MessageBus: per-instance bounded queues,
// drop policy, bytes charged to the subscriber, paced by CPU headroom), so a stale table on the
// sending side can waste a message, never deliver one to an instance that did not subscribe or has
// ended. What may wait on a link before the receiving thread takes it is bounded at the sender
// (LINK_MESSAGES, LINK_BYTES): a receiver busy in guest code makes messages drop, counted, not
// pile up.
import type { MessagePort } from 'node:worker_threads';
import { MessageBus, type Subscriber } from '../apps/message-bus.js';
import { TopicIndex } from '../apps/topic-index.js';

export const LINK_MESSAGES = 256;
export const LINK_BYTES = 1024 * 1024;

type LinkMessage =
  | { t: 'm'; topic: string; payload: Uint8Array; from: string }
  | { t: 'sub'; id: string; pattern: string }
  | { t: 'unsub'; id: string };

interface Peer {
  port: MessagePort;
  /** [messages, bytes] this side sent and the other has not taken yet; and the other way. */
  out: Int32Array;
  in: Int32Array;
  /** The peer's subscribing instances and their patterns. */
  subscribers: Subscriptions;
}

/** Who subscribes to what at the other end: by instance (to forget one), and indexed by topic. */
class Subscriptions {
  readonly #patterns = new Map<string, Set<string>>();
  readonly #index = new TopicIndex<string>();

  add(id: string, pattern: string): boolean {
    if (!addPattern(this.#patterns, id, pattern)) return false;
    this.#index.add(pattern, id);
    return true;
  }

  remove(id: string): void {
    for (const p of this.#patterns.get(id) ?? []) this.#index.remove(p, id);
    this.#patterns.delete(id);
  }

  wants(topic: string): boolean {
    return this.#index.match(topic).size > 0;
  }
}

export class SandboxRoutes {
  /** This sandbox's own subscribers. */
  readonly local = new MessageBus();
  readonly #patterns = new Map<string, Set<string>>();
  readonly #peers = new Map<string, Peer>();
  /** The supervisor's own subscribers (probes, tests). */
  readonly #host = new Subscriptions();
  /** Per publishing instance: messages a full link dropped. */
  readonly #droppedFrom = new Map<string, number>();

  /** `toHost`: a message for the supervisor's own subscribers. */
  constructor(readonly toHost: (topic: string, payload: Uint8Array, from: string) => void) {}

  /** A link to another vendor's sandbox (replacing any earlier one to it). */
  link(peer: string, port: MessagePort, out: SharedArrayBuffer, inbound: SharedArrayBuffer): void {
    this.#peers.get(peer)?.port.close();
    const p: Peer = { port, out: new Int32Array(out), in: new Int32Array(inbound), subscribers: new Subscriptions() };
    this.#peers.set(peer, p);
    port.on('message', (m: LinkMessage) => this.#received(p, m));
    port.on('close', () => { if (this.#peers.get(peer) === p) this.#peers.delete(peer); });
    for (const [id, patterns] of this.#patterns) for (const pattern of patterns) port.postMessage({ t: 'sub', id, pattern } satisfies LinkMessage);
  }

  #received(p: Peer, m: LinkMessage): void {
    if (m.t === 'm') {
      Atomics.sub(p.in, 0, 1);
      Atomics.sub(p.in, 1, m.payload.length + m.topic.length);
      this.local.publish(m.topic, m.payload, m.from);
    } else if (m.t === 'sub') {
      p.subscribers.add(m.id, m.pattern);
    } else {
      p.subscribers.remove(m.id);
    }
  }

  /** One of this sandbox's instances subscribed (its grant checked): queue for it, tell the peers; false when it held the pattern already. */
  subscribe(instanceId: string, pattern: string, sub: Subscriber): boolean {
    if (!this.local.subscribe(instanceId, pattern, sub)) return false;
    if (!addPattern(this.#patterns, instanceId, pattern)) return false;
    for (const p of this.#peers.values()) p.port.postMessage({ t: 'sub', id: instanceId, pattern } satisfies LinkMessage);
    return true;
  }

  /** One of this sandbox's instances ended: its queue goes, the peers stop sending for it. */
  ended(instanceId: string): void {
    this.local.unsubscribeAll(instanceId);
    if (!this.#patterns.delete(instanceId)) return;
    for (const p of this.#peers.values()) p.port.postMessage({ t: 'unsub', id: instanceId } satisfies LinkMessage);
  }

  hostSubscribed(instanceId: string, pattern: string): void {
    this.#host.add(instanceId, pattern);
  }

  hostUnsubscribed(instanceId: string): void {
    this.#host.remove(instanceId);
  }

  /** A message one of this sandbox's instances may publish (its grant and rate already checked). */
  publish(topic: string, payload: Uint8Array, from: string): void {
    this.local.publish(topic, payload, from);
    if (this.#host.wants(topic)) this.toHost(topic, payload, from);
    for (const p of this.#peers.values()) {
      if (!p.subscribers.wants(topic)) continue;
      const size = payload.length + topic.length;
      if (Atomics.load(p.out, 0) >= LINK_MESSAGES || Atomics.load(p.out, 1) + size > LINK_BYTES) {
        this.#droppedFrom.set(from, (this.#droppedFrom.get(from) ?? 0) + 1);
        continue;
      }
      Atomics.add(p.out, 0, 1);
      Atomics.add(p.out, 1, size);
      p.port.postMessage({ t: 'm', topic, payload, from } satisfies LinkMessage);
    }
  }

  /** Drops since the last call: this sandbox's subscribers', and per publisher (its own and remote). */
  takeDropCounts() {
    const counts = this.local.takeDropCounts();
    for (const [from, n] of this.#droppedFrom) counts.publishers.set(from, (counts.publishers.get(from) ?? 0) + n);
    this.#droppedFrom.clear();
    return counts;
  }
}

/** Adds the pattern; false when it was there already. */
function addPattern(table: Map<string, Set<string>>, id: string, pattern: string): boolean {
  let patterns = table.get(id);
  if (!patterns) table.set(id, (patterns = new Set()));
  if (patterns.has(pattern)) return false;
  patterns.add(pattern);
  return true;
}
