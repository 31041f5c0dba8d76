// How much CPU a vendor's sandbox thread spends in guest code, shared between the thread and its
// supervisor through a SharedArrayBuffer. The thread marks when it enters and leaves guest code
// (a blocking host call such as a sleep counts as leaving); the supervisor reads the total without
// stopping the thread, so a guest spinning in a loop is seen even though it never yields.
const TOTAL = 0;
const SINCE = 1;

export class CpuMeter {
  readonly #cells: BigInt64Array;
  #depth = 0;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(16)) {
    this.#cells = new BigInt64Array(buffer);
  }

  /** Thread side: guest code starts running (nested entries count once). */
  enter(): void {
    if (this.#depth++ === 0) Atomics.store(this.#cells, SINCE, process.hrtime.bigint());
  }

  /** Thread side: guest code stops running (returned, trapped, or blocked in the host). */
  leave(): void {
    if (--this.#depth > 0) return;
    this.#depth = 0;
    const since = Atomics.exchange(this.#cells, SINCE, 0n);
    if (since > 0n) Atomics.add(this.#cells, TOTAL, process.hrtime.bigint() - since);
  }

  /** Runs `fn` as guest time. */
  guest<T>(fn: () => T): T {
    this.enter();
    try {
      return fn();
    } finally {
      this.leave();
    }
  }

  /** Either side: guest nanoseconds so far, including a run still in progress. */
  busyNs(): bigint {
    const since = Atomics.load(this.#cells, SINCE);
    const total = Atomics.load(this.#cells, TOTAL);
    return total + (since > 0n ? process.hrtime.bigint() - since : 0n);
  }
}
