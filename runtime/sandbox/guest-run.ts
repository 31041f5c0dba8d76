// Instantiates and runs one WASI command, in whatever thread calls it, and classifies how it
// ended. Shared by the worker sandbox and the in-process (no isolation) path.
import { GrantError, WasiPreview1, type PreopenGrant } from '../../host-apis/wasi-p1/preview1.js';
import type { InstanceResources } from '../../host-apis/limits/resource-ledger.js';
import { CapturedOutput, fdSink, fdSource, type OutputSink } from '../../host-apis/wasi-p1/stdio.js';

export type StdioMode = 'inherit' | 'capture';

/** Everything a run needs, in a form that can cross postMessage. */
export interface GuestRunRequest {
  module: WebAssembly.Module;
  args: string[];
  env: Record<string, string>;
  preopens: PreopenGrant[];
  stdio: StdioMode;
  memoryCapBytes: number;
  /** In-thread only (never crosses postMessage): what the instance may make the host hold. */
  resources?: InstanceResources;
}

export type GuestOutcome =
  | { kind: 'exit'; code: number }
  | { kind: 'trap'; message: string }
  | { kind: 'memory-limit'; message: string }
  | { kind: 'timeout'; limitMs: number }
  | { kind: 'host-error'; message: string };

export interface GuestResult {
  outcome: GuestOutcome;
  stdout?: string;
  stderr?: string;
  /** Time from receiving the request to the guest's end, in ms. */
  runMs: number;
}

const WASM_PAGE = 65536;

export function runGuest(request: GuestRunRequest): GuestResult {
  const t0 = performance.now();
  const captured = request.stdio === 'capture' ? { out: new CapturedOutput(), err: new CapturedOutput() } : undefined;
  const stdout: OutputSink = captured?.out ?? fdSink(1);
  const stderr: OutputSink = captured?.err ?? fdSink(2);
  let memory: WebAssembly.Memory | undefined;
  const outcome = ((): GuestOutcome => {
    let wasi: WasiPreview1;
    try {
      wasi = new WasiPreview1({
        args: request.args, env: request.env, preopens: request.preopens,
        stdin: captured ? undefined : fdSource(0), stdout, stderr, resources: request.resources,
      });
    } catch (err) {
      if (err instanceof GrantError) return { kind: 'host-error', message: err.message };
      throw err;
    }
    try {
      const instance = new WebAssembly.Instance(request.module, { wasi_snapshot_preview1: wasi.imports() });
      memory = instance.exports.memory as WebAssembly.Memory | undefined;
      return { kind: 'exit', code: wasi.start(instance) };
    } catch (err) {
      return classifyFailure(err, memory, request.memoryCapBytes);
    }
  })();
  return {
    outcome,
    stdout: captured?.out.text(),
    stderr: captured?.err.text(),
    runMs: performance.now() - t0,
  };
}

function classifyFailure(err: unknown, memory: WebAssembly.Memory | undefined, capBytes: number): GuestOutcome {
  const message = err instanceof Error ? err.message : String(err);
  // A guest whose allocation failed usually traps (abort, unreachable) a little below the cap: the
  // failing request was bigger than what was left. Within 1/16 of the cap counts as "hit the cap".
  const slack = Math.max(WASM_PAGE, capBytes / 16);
  const atCap = memory !== undefined && memory.buffer.byteLength + slack > capBytes;
  if (err instanceof WebAssembly.RuntimeError || err instanceof RangeError) {
    if (atCap) {
      return { kind: 'memory-limit', message: `memory limit of ${formatBytes(capBytes)} reached (then trapped: ${message})` };
    }
    if (err instanceof RangeError && /call stack/i.test(message)) return { kind: 'trap', message: 'stack overflow' };
    if (err instanceof RangeError && /memory/i.test(message)) return { kind: 'memory-limit', message };
    return { kind: 'trap', message };
  }
  if (err instanceof GrantError) return { kind: 'host-error', message: err.message };
  if (err instanceof WebAssembly.LinkError) return { kind: 'host-error', message: `link error: ${message}` };
  return { kind: 'host-error', message };
}

export function formatBytes(n: number): string {
  if (n >= 1 << 30 && n % (1 << 30) === 0) return `${n / (1 << 30)} GiB`;
  if (n >= 1 << 20) return `${+(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${+(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}
