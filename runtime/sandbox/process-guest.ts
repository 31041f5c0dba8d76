// `bulkhead run`'s default for a preview1 module: the guest runs on the main thread of the CLI
// process, which is itself the boundary (one OS process per run, its own address space; the
// guest's memory is capped in the module itself, by rewrite, as in every sandbox). No worker
// thread to start saves most of a run's wall time. A time limit is kept by V8's own watchdog
// (node:vm's timeout): when it passes, V8 terminates what runs the guest, wasm loops and
// memory.grow included (TurboFan-only code, see wasm-engine-flags.ts), and the run reports a
// timeout (exit 124), as a terminated worker did.
import vm from 'node:vm';
import { runGuest, type GuestResult, type GuestRunRequest } from './guest-run.js';
import { applyWasmEngineFlags } from './wasm-engine-flags.js';

applyWasmEngineFlags();

export function runInProcess(request: GuestRunRequest, timeoutMs?: number): GuestResult {
  if (timeoutMs === undefined) return runGuest(request);
  const t0 = performance.now();
  const context = vm.createContext({ run: () => runGuest(request) });
  try {
    return vm.runInContext('run()', context, { timeout: timeoutMs }) as GuestResult;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw err;
    return { outcome: { kind: 'timeout', limitMs: timeoutMs }, runMs: performance.now() - t0 };
  }
}
