// When to try the fleet manager again after a failure: exponential backoff with jitter, capped, and
// never sooner than the server's Retry-After (itself capped, so a hostile or broken WFM cannot park
// the device for days; the device keeps running its adopted state meanwhile).
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  /** Longest Retry-After honoured. */
  maxRetryAfterMs: number;
  random?: () => number;
}

export class Backoff {
  private failures = 0;

  constructor(private readonly options: BackoffOptions) {}

  get attempts(): number {
    return this.failures;
  }

  reset(): void {
    this.failures = 0;
  }

  /** The delay before the next attempt after one more failure. */
  next(retryAfterMs?: number): number {
    const { baseMs, capMs, maxRetryAfterMs } = this.options;
    const random = this.options.random ?? Math.random;
    const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    // "Equal jitter": half the ceiling, plus a random part of the other half. Devices that failed
    // together (a WFM restart) spread out instead of returning in lockstep.
    const delay = ceiling / 2 + random() * (ceiling / 2);
    const floor = retryAfterMs === undefined ? 0 : Math.min(retryAfterMs, maxRetryAfterMs);
    return Math.round(Math.max(delay, floor));
  }
}
