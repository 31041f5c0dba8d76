// A token bucket: `perSecond` tokens a second, at most `burst` saved up. Used for every rate a
// guest can push the host at (audit events, published messages and bytes).
export class TokenBucket {
  #tokens: number;
  #last = performance.now();

  constructor(readonly perSecond: number, readonly burst: number) {
    this.#tokens = burst;
  }

  #refill(): void {
    const now = performance.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.perSecond);
    this.#last = now;
  }

  /** Takes `n` tokens if there are that many; a request larger than the burst never fits. */
  take(n = 1): boolean {
    if (this.perSecond === Infinity) return true;
    this.#refill();
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }
}
