// The device's message bus between sandboxes: the only sanctioned path between vendors. Topic
// permissions were checked inside the publishing/subscribing sandbox; the bus only routes.
import { topicMatches } from '../../host-apis/capabilities/grant.js';

export type Deliver = (instanceId: string, topic: string, payload: Uint8Array) => void;

export class MessageBus {
  readonly #subscriptions = new Map<string, { patterns: Set<string>; deliver: Deliver }>();
  published = 0;
  delivered = 0;

  subscribe(instanceId: string, pattern: string, deliver: Deliver): void {
    let s = this.#subscriptions.get(instanceId);
    if (!s) this.#subscriptions.set(instanceId, (s = { patterns: new Set(), deliver }));
    s.patterns.add(pattern);
  }

  unsubscribeAll(instanceId: string): void {
    this.#subscriptions.delete(instanceId);
  }

  publish(topic: string, payload: Uint8Array): void {
    this.published++;
    for (const [instanceId, s] of this.#subscriptions) {
      for (const p of s.patterns) {
        if (topicMatches(p, topic)) {
          this.delivered++;
          s.deliver(instanceId, topic, payload);
          break;
        }
      }
    }
  }
}
