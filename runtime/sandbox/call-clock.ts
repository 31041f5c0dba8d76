// Which instance a vendor's sandbox thread is running guest code for, and since when, shared
// with the supervisor through a SharedArrayBuffer. The supervisor reads it without the thread's
// help, so it can tell a call that has run past its time limit (a guest blocked or waiting inside
// start() or a message handler) and, after the thread died (heap exhausted, crash), whose call
// was running: the app that brought the sandbox down.
const SLOT = 0;
const KIND = 1;

/** What kind of guest call runs: a job's run() is allowed to take as long as it needs. */
export const CallKind = { none: 0, start: 1, message: 2, job: 3 } as const;
export type CallKindName = Exclude<keyof typeof CallKind, 'none'>;

export interface CurrentCall { slot: number; kind: CallKindName; sinceMs: number }

export class CallClock {
  readonly #ints: Int32Array;
  readonly #since: Float64Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(16)) {
    this.#ints = new Int32Array(buffer, 0, 2);
    this.#since = new Float64Array(buffer, 8, 1);
  }

  /** Thread side: runs `fn` as a call of `kind` into the instance in `slot`. Calls do not nest. */
  call<T>(slot: number, kind: CallKindName, fn: () => T): T {
    this.#since[0] = Date.now();
    Atomics.store(this.#ints, KIND, CallKind[kind]);
    Atomics.store(this.#ints, SLOT, slot);
    try {
      return fn();
    } finally {
      Atomics.store(this.#ints, SLOT, 0);
    }
  }

  /** Thread side: an asynchronous span (instantiation) as a call; `end` closes it. */
  begin(slot: number, kind: CallKindName): void {
    this.#since[0] = Date.now();
    Atomics.store(this.#ints, KIND, CallKind[kind]);
    Atomics.store(this.#ints, SLOT, slot);
  }

  end(slot: number): void {
    Atomics.compareExchange(this.#ints, SLOT, slot, 0);
  }

  /** Either side: the call in progress, if any. */
  current(): CurrentCall | undefined {
    const slot = Atomics.load(this.#ints, SLOT);
    if (slot === 0) return undefined;
    const kind = (Object.keys(CallKind) as (keyof typeof CallKind)[]).find((k) => CallKind[k] === Atomics.load(this.#ints, KIND));
    if (!kind || kind === 'none') return undefined;
    return { slot, kind, sinceMs: this.#since[0]! };
  }
}

