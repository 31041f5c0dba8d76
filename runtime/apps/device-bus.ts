// The supervisor's side of the message bus. Messages between vendors' sandboxes travel on direct
// links (runtime/sandbox/sandbox-routes.ts); this class makes them: every two vendors' sandboxes
// get one link (a MessageChannel whose ends go to the two threads, with the shared counters that
// bound what may wait on it), made when the second of them starts and gone when either ends. A
// guest never holds a link: the ports live in the sandboxes' host code, and the publisher's grant
// and rate are checked there before anything is sent; a subscriber's grant is checked in its own
// sandbox, which re-matches every message it receives against its current subscriptions.
//
// The supervisor also has subscribers and publishers of its own (probes, tests): they use the
// MessageBus this class extends, with its bounded queues; every sandbox is told their patterns and
// forwards what matches, and their publishes go to every sandbox, whose own bus matches them.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { ToSandbox } from '../sandbox/vendor-sandbox-protocol.js';
import { MessageBus, type Deliver, type QueueLimits, type Subscriber } from './message-bus.js';

/** What the bus needs of a vendor's sandbox. */
export interface BusLink {
  send(m: ToSandbox, transfer?: MessagePort[]): void;
}

export class DeviceBus extends MessageBus {
  readonly #links = new Map<string, BusLink>();
  /** Patterns the sandboxes' instances hold (as they report them), for status and tests. */
  readonly #sandboxPatterns = new Map<string, number>();
  /** The supervisor's own subscribers' patterns, by subscriber. */
  readonly #hostPatterns = new Map<string, Set<string>>();
  /** Drops the sandboxes reported, not yet taken. */
  readonly #reported = { subscribers: new Map<string, { dropped: number; queue: QueueLimits }>(), publishers: new Map<string, number>() };

  /** A vendor's sandbox is up: it is linked to every other, and learns the supervisor's subscriptions. */
  attach(vendor: string, link: BusLink): void {
    this.#links.set(vendor, link);
    for (const [other, peer] of this.#links) {
      if (other === vendor) continue;
      const { port1, port2 } = new MessageChannel();
      const aToB = new SharedArrayBuffer(8);
      const bToA = new SharedArrayBuffer(8);
      link.send({ type: 'link', peer: other, port: port1, out: aToB, in: bToA }, [port1]);
      peer.send({ type: 'link', peer: vendor, port: port2, out: bToA, in: aToB }, [port2]);
    }
    for (const [instanceId, patterns] of this.#hostPatterns) {
      for (const pattern of patterns) link.send({ type: 'host-subscribed', instanceId, pattern });
    }
  }

  /** An instance in a sandbox holds one more pattern (its sandbox queues for it). */
  sandboxSubscribed(instanceId: string): void {
    this.#sandboxPatterns.set(instanceId, (this.#sandboxPatterns.get(instanceId) ?? 0) + 1);
  }

  /** Patterns held for all instances, the sandboxes' and the supervisor's own. */
  override get subscriptions(): number {
    let n = super.subscriptions;
    for (const k of this.#sandboxPatterns.values()) n += k;
    return n;
  }

  /** A vendor's sandbox is gone (its ends of the links closed with its thread). */
  detach(vendor: string, link: BusLink): void {
    if (this.#links.get(vendor) === link) this.#links.delete(vendor);
  }

  override subscribe(instanceId: string, pattern: string, sub: Deliver | Subscriber): boolean {
    if (!super.subscribe(instanceId, pattern, sub)) return false;
    let patterns = this.#hostPatterns.get(instanceId);
    if (!patterns) this.#hostPatterns.set(instanceId, (patterns = new Set()));
    if (patterns.has(pattern)) return true;
    patterns.add(pattern);
    for (const link of this.#links.values()) link.send({ type: 'host-subscribed', instanceId, pattern });
    return true;
  }

  override unsubscribeAll(instanceId: string): void {
    super.unsubscribeAll(instanceId);
    this.#sandboxPatterns.delete(instanceId);
    if (!this.#hostPatterns.delete(instanceId)) return;
    for (const link of this.#links.values()) link.send({ type: 'host-unsubscribed', instanceId });
  }

  /** A message from the supervisor's side: its own subscribers, and every sandbox's. */
  override publish(topic: string, payload: Uint8Array, from?: string): void {
    super.publish(topic, payload, from);
    for (const link of this.#links.values()) link.send({ type: 'inbound', topic, payload });
  }

  /** A sandbox forwarded a message for the supervisor's own subscribers. */
  fromSandbox(topic: string, payload: Uint8Array, from: string): void {
    super.publish(topic, payload, from);
  }

  /** A sandbox's report of what full queues and links dropped. */
  dropsReported(subscribers: [string, number, QueueLimits][], publishers: [string, number][]): void {
    for (const [id, dropped, queue] of subscribers) {
      const d = this.#reported.subscribers.get(id);
      this.#reported.subscribers.set(id, { dropped: (d?.dropped ?? 0) + dropped, queue });
    }
    for (const [id, n] of publishers) this.#reported.publishers.set(id, (this.#reported.publishers.get(id) ?? 0) + n);
  }

  override takeDropCounts() {
    const counts = super.takeDropCounts();
    for (const [id, d] of this.#reported.subscribers) {
      const mine = counts.subscribers.get(id);
      counts.subscribers.set(id, { dropped: (mine?.dropped ?? 0) + d.dropped, queue: d.queue });
    }
    for (const [id, n] of this.#reported.publishers) counts.publishers.set(id, (counts.publishers.get(id) ?? 0) + n);
    this.#reported.subscribers.clear();
    this.#reported.publishers.clear();
    return counts;
  }
}
