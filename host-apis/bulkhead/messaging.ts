// bulkhead:host/messaging for one app: every topic is checked against the grant's patterns here,
// inside the sandbox, before anything reaches the device's message bus. Every refusal (an invalid
// topic or payload, a topic outside the grant) is audited.
import { subsumes, topicMatches } from '../capabilities/grant.js';
import { GuestError } from '../wasi-p2/errors.js';
import { auditedText, type AuditSink } from './audit.js';
import { TokenBucket } from '../limits/token-bucket.js';
import type { InstanceSubscriptions } from './subscription-limits.js';

export const MAX_PAYLOAD_BYTES = 64 * 1024;

export interface PublishLimits { messagesPerSecond: number; bytesPerSecond: number }
export const DEFAULT_PUBLISH_LIMITS: PublishLimits = { messagesPerSecond: 200, bytesPerSecond: 1024 * 1024 };

/**
 * A vendor's publish rate: messages and payload bytes a second over all its instances (one
 * limiter per vendor sandbox), each a token bucket with a second's worth of burst. What the bus
 * and every subscriber spend on a publisher's traffic is bounded by it.
 */
export class PublishLimiter {
  readonly #messages: TokenBucket;
  readonly #bytes: TokenBucket;
  constructor(readonly limits: PublishLimits = DEFAULT_PUBLISH_LIMITS) {
    this.#messages = new TokenBucket(limits.messagesPerSecond, Math.max(1, limits.messagesPerSecond));
    this.#bytes = new TokenBucket(limits.bytesPerSecond, Math.max(MAX_PAYLOAD_BYTES, limits.bytesPerSecond));
  }
  /** Undefined when the message may go; otherwise why not. */
  admit(bytes: number): string | undefined {
    if (!this.#messages.take()) return `over the vendor's publish rate of ${this.limits.messagesPerSecond} messages/s`;
    if (!this.#bytes.take(bytes)) return `over the vendor's publish rate of ${this.limits.bytesPerSecond} bytes/s`;
    return undefined;
  }
}

export interface MessageBus {
  publish(topic: string, payload: Uint8Array): void;
  subscribe(pattern: string): void;
}

function validTopic(topic: string, wildcards: boolean): boolean {
  if (topic.length === 0 || topic.length > 256 || topic.includes('\0')) return false;
  const levels = topic.split('/');
  return levels.every((l, i) => {
    if (!wildcards) return !l.includes('+') && !l.includes('#');
    if (l === '#') return i === levels.length - 1;
    return l === '+' || (!l.includes('+') && !l.includes('#'));
  });
}

/**
 * `subscriptions`: the instance's count and charge of distinct patterns (subscription-limits.ts);
 * absent: not capped (`bulkhead run`, tests of this API alone).
 */
export function createMessaging(grant: { publish: readonly string[]; subscribe: readonly string[] }, bus: MessageBus, audit: AuditSink,
  limiter: PublishLimiter = new PublishLimiter({ messagesPerSecond: Infinity, bytesPerSecond: Infinity }), subscriptions?: InstanceSubscriptions) {
  const fail = (tag: string, val: string) => new GuestError({ tag, val });
  return {
    publish(topic: string, payload: Uint8Array): void {
      if (!validTopic(topic, false)) {
        audit({ capability: 'messaging.publish', attempted: auditedText(topic), reason: 'not a publishable topic (no wildcards, 1-256 characters, no NUL)' });
        throw fail('invalid', `${auditedText(topic)} is not a publishable topic (no wildcards, 1-256 characters)`);
      }
      if (payload.length > MAX_PAYLOAD_BYTES) {
        audit({ capability: 'messaging.publish', attempted: `${topic} (${payload.length} bytes)`, reason: `payload over ${MAX_PAYLOAD_BYTES} bytes` });
        throw fail('invalid', `payload of ${payload.length} bytes is over ${MAX_PAYLOAD_BYTES}`);
      }
      if (!grant.publish.some((p) => topicMatches(p, topic))) {
        audit({ capability: 'messaging.publish', attempted: topic, reason: `not within the granted publish topics (${grant.publish.join(', ') || 'none'})` });
        throw fail('denied', `publishing to ${topic} is not granted`);
      }
      const refused = limiter.admit(payload.length);
      if (refused) {
        audit({ capability: 'messaging.rate', attempted: `publish ${payload.length} bytes to ${topic}`, reason: refused });
        throw fail('denied', `publish rate limit: ${refused}; retry later`);
      }
      bus.publish(topic, payload);
    },
    subscribe(pattern: string): void {
      if (!validTopic(pattern, true)) {
        audit({ capability: 'messaging.subscribe', attempted: auditedText(pattern), reason: 'not a topic pattern (1-256 characters, "+" a whole level, "#" only last, no NUL)' });
        throw fail('invalid', `${auditedText(pattern)} is not a topic pattern`);
      }
      if (!grant.subscribe.some((p) => subsumes(p, pattern))) {
        audit({ capability: 'messaging.subscribe', attempted: pattern, reason: `not within the granted subscribe topics (${grant.subscribe.join(', ') || 'none'})` });
        throw fail('denied', `subscribing to ${pattern} is not granted`);
      }
      const added = subscriptions?.add(pattern) ?? 'new';
      if (added === 'held') return;
      if (added !== 'new') {
        if (!added.audited) audit({ capability: 'limits.subscriptions', attempted: `subscribe to ${pattern}`, reason: added.refused });
        throw fail('denied', `subscription limit: ${added.refused}; subscriptions last the instance's life: subscribe to fewer, wider patterns (with + or #)`);
      }
      bus.subscribe(pattern);
    },
  };
}
