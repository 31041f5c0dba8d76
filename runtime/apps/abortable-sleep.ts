// The daemon's loops (reconcile, fleet link, network-isolation keeper) wait between rounds and must
// wake at once when the daemon stops: a timer that ends early on abort, resolving either way (an
// abort is the normal way out of these loops, not an error as with timers/promises).

/** Waits `ms`, or less when `signal` aborts (at once if it already has). `expose` gets the early wake-up. */
export function sleepUnlessAborted(ms: number, signal: AbortSignal, expose?: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
    expose?.(done);
  });
}
