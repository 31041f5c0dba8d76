// The supervisor side of one vendor's sandbox: a worker thread (own V8 isolate and heap) hosting
// all of that vendor's instances, and a watchdog on its guest CPU time. A vendor whose guests use
// more than their CPU share over the window is stopped (the thread is terminated) and its
// instances are reported failed; other vendors' sandboxes are separate threads and keep running.
import { Worker } from 'node:worker_threads';
import { CpuMeter } from './cpu-meter.js';
import { MessageChannel } from 'node:worker_threads';
import type { FromSandbox, InstanceSpec, NetCall, SandboxResources, SandboxStats, ToSandbox } from './vendor-sandbox-protocol.js';
import { refusedNetCall } from '../../host-apis/net/net-broker.js';
import { serveSyncCalls } from './sync-call.js';
import { workerScript } from './worker-script.js';

export interface CpuLimit {
  /** Share of one core the vendor's guests may use, averaged over the window (0.5 = half a core; 1 = no limit). */
  share: number;
  windowMs: number;
}

export interface SandboxEvents {
  message(m: FromSandbox): void;
  /** Network calls of the sandbox's instances; without it, every one is refused. */
  net?(call: NetCall): Promise<unknown>;
  /** The thread is gone (CPU limit, heap limit, crash); every instance in it has ended. */
  lost(instanceIds: string[], reason: string): void;
}

// JS heap of the sandbox thread: host API objects and jco bindings, not wasm memory (capped per
// instance by rewriting each module's declared maximum).
const WORKER_HEAP_MB = 128;
// The part of its CPU share a vendor may fill with message deliveries before they wait.
const DELIVERY_SHARE = 0.6;

export class VendorSandbox {
  readonly #worker: Worker;
  readonly #meter = new CpuMeter();
  readonly #instances = new Set<string>();
  readonly #watchdog: NodeJS.Timeout;
  #samples: { at: number; busyNs: bigint }[] = [];
  #gone = false;
  readonly exited: Promise<void>;

  constructor(readonly vendor: string, databasePath: string, readonly cpu: CpuLimit, events: SandboxEvents, resources?: SandboxResources) {
    const script = workerScript('vendor-sandbox-worker');
    const calls = new MessageChannel();
    const callSignal = new SharedArrayBuffer(4);
    const refuse = async (call: NetCall) => refusedNetCall(call.method);
    serveSyncCalls(calls.port1, callSignal, (_op, args) => (events.net ?? refuse)(args as NetCall));
    calls.port1.unref();
    this.#worker = new Worker(script.url, {
      eval: script.eval,
      execArgv: [],
      workerData: { vendor, databasePath, cpu: this.#meter.buffer, callPort: calls.port2, callSignal, resources },
      transferList: [calls.port2],
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      stdout: false, stderr: false, stdin: false,
    });
    this.#worker.on('message', (m: FromSandbox) => {
      if (m.type === 'stats') {
        this.#statsWaiters.shift()?.(m.stats);
        return;
      }
      if (m.type === 'state' && m.state !== 'running') this.#instances.delete(m.instanceId);
      events.message(m);
    });
    let lostReason = 'the sandbox thread ended';
    this.#worker.on('error', (err) => {
      lostReason = (err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? 'the sandbox ran out of its JS heap' : `the sandbox crashed: ${err.message}`;
    });
    this.exited = new Promise((resolve) => this.#worker.once('exit', () => {
      this.#gone = true;
      for (const waiter of this.#statsWaiters.splice(0)) waiter({ heapUsed: 0, external: 0, instances: 0 });
      clearInterval(this.#watchdog);
      const ids = [...this.#instances];
      this.#instances.clear();
      if (ids.length > 0) events.lost(ids, this.#stopReason ?? lostReason);
      resolve();
    }));
    this.#watchdog = setInterval(() => this.#checkCpu(), Math.max(10, cpu.windowMs / 10));
    this.#watchdog.unref();
  }

  #stopReason: string | undefined;
  readonly #statsWaiters: ((s: SandboxStats) => void)[] = [];

  /** The sandbox thread's memory; `collect` runs a full GC first (for measurements). */
  stats(collect = false): Promise<SandboxStats> {
    if (this.#gone) return Promise.resolve({ heapUsed: 0, external: 0, instances: 0 });
    return new Promise((resolve) => {
      this.#statsWaiters.push(resolve);
      this.#send({ type: 'stats', collect });
    });
  }

  get instanceIds(): string[] {
    return [...this.#instances];
  }

  get alive(): boolean {
    return !this.#gone;
  }

  /** Guest CPU time used so far, in ms. */
  cpuMs(): number {
    return Number(this.#meter.busyNs()) / 1e6;
  }

  /**
   * Whether the vendor may be handed more queued work (a message delivery) now: its guests used
   * under DELIVERY_SHARE of their CPU share over the recent window. Deliveries wait otherwise, so
   * a flood of messages fills the subscriber's queue (and drops by its policy) instead of pushing
   * its guest time past the share and getting the whole vendor stopped for others' traffic.
   */
  hasCpuHeadroom(): boolean {
    if (this.cpu.share >= 1) return true;
    const first = this.#samples[0];
    if (!first) return true;
    const span = performance.now() - first.at;
    if (span <= 0) return true;
    const usedMs = Number(this.#meter.busyNs() - first.busyNs) / 1e6;
    return usedMs < DELIVERY_SHARE * this.cpu.share * Math.max(span, this.cpu.windowMs);
  }

  #checkCpu(): void {
    const now = performance.now();
    this.#samples.push({ at: now, busyNs: this.#meter.busyNs() });
    while (this.#samples.length > 1 && now - this.#samples[1]!.at >= this.cpu.windowMs) this.#samples.shift();
    const first = this.#samples[0]!;
    const span = now - first.at;
    if (span < this.cpu.windowMs * 0.9) return;
    const usedMs = Number(this.#samples.at(-1)!.busyNs - first.busyNs) / 1e6;
    // One thread cannot use more than a core: a share of 1 or more means no CPU limit.
    if (this.cpu.share < 1 && usedMs > this.cpu.share * span) {
      this.#stopReason = `CPU limit: guests used ${usedMs.toFixed(0)} ms of CPU in ${span.toFixed(0)} ms (limit ${Math.round(this.cpu.share * 100)}% of a core)`;
      void this.terminate();
    }
  }

  #send(m: ToSandbox): void {
    if (!this.#gone) this.#worker.postMessage(m);
  }

  start(spec: InstanceSpec): void {
    this.#instances.add(spec.instanceId);
    this.#send({ type: 'start', spec });
  }

  deliver(instanceId: string, topic: string, payload: Uint8Array): void {
    this.#send({ type: 'deliver', instanceId, topic, payload });
  }

  stop(instanceId: string): void {
    this.#send({ type: 'stop', instanceId });
  }

  /** Ends the thread at once, even in the middle of guest code. */
  async terminate(reason?: string): Promise<void> {
    if (reason) this.#stopReason ??= reason;
    clearInterval(this.#watchdog);
    if (!this.#gone) await this.#worker.terminate();
    await this.exited;
  }
}
