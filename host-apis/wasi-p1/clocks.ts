// clock_* of preview1. Realtime is derived from the monotonic clock plus one wall-clock reading,
// so nanosecond resolution does not depend on Date's milliseconds.
import { ClockId, Errno } from './constants.js';
import { WasiError } from './errors.js';

const startMonotonic = process.hrtime.bigint();
const startRealtime = BigInt(Date.now()) * 1_000_000n;

export function clockNow(id: number): bigint {
  switch (id) {
    case ClockId.REALTIME: return startRealtime + (process.hrtime.bigint() - startMonotonic);
    case ClockId.MONOTONIC: return process.hrtime.bigint();
    case ClockId.PROCESS_CPUTIME_ID:
    case ClockId.THREAD_CPUTIME_ID: {
      const usage = process.cpuUsage();
      return BigInt(usage.user + usage.system) * 1000n;
    }
    default: throw new WasiError(Errno.INVAL, `unknown clock ${id}`);
  }
}

export function clockResolution(id: number): bigint {
  switch (id) {
    case ClockId.REALTIME:
    case ClockId.MONOTONIC: return 1n;
    case ClockId.PROCESS_CPUTIME_ID:
    case ClockId.THREAD_CPUTIME_ID: return 1000n;
    default: throw new WasiError(Errno.INVAL, `unknown clock ${id}`);
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Blocks the calling thread for `ns`. Sleeps in short slices so that a supervisor's
 * worker.terminate() (which takes effect between JS steps) still stops a sleeping guest promptly.
 */
export function sleepNs(ns: bigint): void {
  const deadline = process.hrtime.bigint() + ns;
  for (;;) {
    const left = deadline - process.hrtime.bigint();
    if (left <= 0n) return;
    Atomics.wait(sleeper, 0, 0, Math.min(10, Math.max(Number(left) / 1e6, 0.01)));
  }
}
