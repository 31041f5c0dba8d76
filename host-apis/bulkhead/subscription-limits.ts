// What a vendor's subscriptions may make the host hold. Each distinct pattern lives in the device's
// message bus on the daemon's main thread for as long as the instance runs, so patterns are capped
// per instance and per vendor (all its instances, one budget per vendor sandbox) and their bytes
// are charged to the vendor's host memory (redteam finding 10: 100k patterns held 42 MiB uncounted).
// The check runs where the guest subscribes, so the guest gets the refusal, whichever path then
// carries its messages.
import { ResourceLimitError, type InstanceResources } from '../limits/resource-ledger.js';

export interface SubscriptionLimits {
  /** Distinct patterns one instance may hold. */
  perInstance: number;
  /** ... and all the vendor's instances together. */
  perVendor: number;
}

export const DEFAULT_SUBSCRIPTION_LIMITS: SubscriptionLimits = { perInstance: 1024, perVendor: 4096 };

/**
 * Host bytes one subscription is charged, an upper bound: the pattern on both threads (this
 * instance's set and the bus, 2 bytes a character at worst), the set and map entries, and for a
 * wildcard pattern a trie node per level (nodes shared with other patterns are charged again).
 * bench/subscriptions.bench.ts measures the bus's side: ~500 bytes for a 249-character exact
 * pattern (charged 1192), ~15 KB for a 63-level wildcard one with nodes of its own (charged 16.5 KB).
 */
export function subscriptionBytes(pattern: string): number {
  let levels = 1;
  for (let i = 0; i < pattern.length; i++) if (pattern.charCodeAt(i) === 0x2f) levels++;
  const wild = pattern.includes('+') || pattern.includes('#');
  return 4 * pattern.length + 200 + (wild ? 250 * levels : 0);
}

/** One vendor's count of distinct patterns over its instances. */
export class SubscriptionBudget {
  #held = 0;
  constructor(readonly limits: SubscriptionLimits = DEFAULT_SUBSCRIPTION_LIMITS) {}

  get held(): number {
    return this.#held;
  }

  /** One instance's subscriptions, given back with `release()` when it ends. */
  instance(resources?: InstanceResources): InstanceSubscriptions {
    return new InstanceSubscriptions(this, resources);
  }

  /** @internal */
  take(): boolean {
    if (this.#held >= this.limits.perVendor) return false;
    this.#held++;
    return true;
  }

  /** @internal */
  give(n: number): void {
    this.#held = Math.max(0, this.#held - n);
  }
}

export class InstanceSubscriptions {
  readonly #patterns = new Set<string>();
  #bytes = 0;
  #released = false;
  constructor(readonly budget: SubscriptionBudget, readonly resources?: InstanceResources) {}

  /**
   * Records `pattern` for the instance: 'new' (tell the bus), 'held' (already subscribed: nothing
   * to do), or why it is refused (the cap that was reached, in words for the guest and the audit;
   * `audited`: the ledger already audited it, as it does every host-memory refusal).
   */
  add(pattern: string): 'new' | 'held' | { refused: string; audited?: boolean } {
    if (this.#patterns.has(pattern)) return 'held';
    const limits = this.budget.limits;
    if (this.#released) return { refused: 'the instance has ended' };
    if (this.#patterns.size >= limits.perInstance) return { refused: `the instance holds ${limits.perInstance} subscriptions, its cap (policy wasm.subscriptions)` };
    if (!this.budget.take()) return { refused: `the vendor's instances hold ${limits.perVendor} subscriptions, its cap (policy wasm.subscriptionsTotal)` };
    const bytes = subscriptionBytes(pattern);
    try {
      this.resources?.takeBytes(bytes, 'a subscription');
    } catch (err) {
      this.budget.give(1);
      if (err instanceof ResourceLimitError) return { refused: err.message, audited: true };
      throw err;
    }
    this.#bytes += bytes;
    this.#patterns.add(pattern);
    return 'new';
  }

  get count(): number {
    return this.#patterns.size;
  }

  /** At the instance's end (the bus drops its patterns then too). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.budget.give(this.#patterns.size);
    this.resources?.freeBytes(this.#bytes);
    this.#patterns.clear();
    this.#bytes = 0;
  }
}
