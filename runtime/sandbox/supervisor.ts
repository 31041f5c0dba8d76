// Runs a guest under an isolation level. `worker`: its own worker thread (own V8 isolate and heap),
// preemptible by terminate(); `none`: in the calling thread, the floor for benchmarks.
import { Worker } from 'node:worker_threads';
import { runGuest, type GuestResult, type GuestRunRequest } from './guest-run.js';
import type { SandboxMessage } from './sandbox-worker.js';
import { workerScript } from './worker-script.js';
import { applyWasmEngineFlags } from './wasm-engine-flags.js';

applyWasmEngineFlags();

export type IsolationLevel = 'worker' | 'none';
export const ISOLATION_LEVELS: readonly IsolationLevel[] = ['worker', 'none'];

export interface SandboxOptions {
  isolation: IsolationLevel;
  /** Wall-clock limit; the worker is terminated when it passes. */
  timeoutMs?: number;
}

// JS heap of the sandbox thread (host API objects, not wasm memory: that is capped separately).
const WORKER_HEAP_MB = 64;

export function runSandboxed(request: GuestRunRequest, options: SandboxOptions): Promise<GuestResult> {
  if (options.isolation === 'none') {
    if (options.timeoutMs !== undefined) {
      return Promise.reject(new Error('a timeout needs worker isolation: an in-process guest cannot be preempted'));
    }
    return Promise.resolve(runGuest(request));
  }
  return runInWorker(request, options.timeoutMs);
}

function runInWorker(request: GuestRunRequest, timeoutMs: number | undefined): Promise<GuestResult> {
  const t0 = performance.now();
  const script = workerScript('sandbox-worker');
  const worker = new Worker(script.url, {
    eval: script.eval,
    // Never inherit the parent's Node flags (e.g. --import loaders): a sandbox starts clean, and
    // a loader inherited from a dev parent would add ~90 ms to every start.
    execArgv: [],
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: 16 },
    stdin: false,
    stdout: false,
    stderr: false,
  });
  return new Promise<GuestResult>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (result: GuestResult) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      resolve(result);
      void worker.terminate();
    };
    worker.on('message', (message: SandboxMessage) => {
      if (message.type === 'result') {
        finish(message.result);
      } else if (message.type === 'started' && timeoutMs !== undefined) {
        const startedAt = performance.now();
        timer = setTimeout(() => {
          // Resolve only once the thread is really gone, so "terminated" is a fact, not a request.
          settled = true;
          void worker.terminate().then(() => {
            resolve({ outcome: { kind: 'timeout', limitMs: timeoutMs }, runMs: performance.now() - startedAt });
          });
        }, timeoutMs);
      }
    });
    worker.once('error', (err) => {
      // ERR_WORKER_OUT_OF_MEMORY: the JS heap limit, hit by host-side allocations on the guest's behalf.
      const kind = (err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory-limit' : 'host-error';
      finish({ outcome: { kind, message: err.message }, runMs: performance.now() - t0 });
    });
    worker.once('exit', (code) => {
      finish({ outcome: { kind: 'host-error', message: `sandbox thread exited early (code ${code})` }, runMs: performance.now() - t0 });
    });
    worker.postMessage(request);
  });
}
