// The supervisor side of one vendor's sandbox: a worker thread (own V8 isolate and heap) hosting
// all of that vendor's instances, and a watchdog on its guest CPU time. A vendor whose guests use
// more than their CPU share over the window is stopped (the thread is terminated) and its
// instances are reported failed; other vendors' sandboxes are separate threads and keep running.
import { Worker } from 'node:worker_threads';
import { CallClock } from './call-clock.js';
import { CpuMeter } from './cpu-meter.js';
import { MessageChannel } from 'node:worker_threads';
import type { FromSandbox, InstanceSpec, NetCall, SandboxResources, SandboxStats, ToSandbox } from './vendor-sandbox-protocol.js';
import { refusedNetCall } from '../../host-apis/net/net-broker.js';
import { serveSyncCalls } from './sync-call.js';
import { workerScript } from './worker-script.js';
import { applyWasmEngineFlags } from './wasm-engine-flags.js';

applyWasmEngineFlags();

export interface CpuLimit {
  /** Share of one core the vendor's guests may use, averaged over the window (0.5 = half a core; 1 = no limit). */
  share: number;
  windowMs: number;
}

export interface SandboxEvents {
  message(m: FromSandbox): void;
  /** Network calls of the sandbox's instances; without it, every one is refused. */
  net?(call: NetCall): Promise<unknown>;
  /**
   * The thread is gone (CPU limit, heap limit, crash, a call past its time limit); every instance
   * in it has ended. `culprit`: the instance whose guest code was running when it went.
   */
  lost(instanceIds: string[], reason: string, culprit?: string): void;
}

// JS heap of the sandbox thread: host API objects and jco bindings, not wasm memory (capped per
// instance by rewriting each module's declared maximum).
const WORKER_HEAP_MB = 128;
// Its young generation: an idle sandbox's RSS was 12.4 MiB with V8's default, 10.3 MiB with this
// (10 idle vendors, measured); host calls no longer allocate much per call, so scavenges stay rare.
const WORKER_YOUNG_MB = 2;
// The part of its CPU share a vendor may fill with message deliveries before they wait.
const DELIVERY_SHARE = 0.6;

export class VendorSandbox {
  readonly #worker: Worker;
  readonly #meter = new CpuMeter();
  readonly #clock = new CallClock();
  /** Whether the vendor may take message deliveries now (hasCpuHeadroom), read by the thread. */
  readonly #headroom = new Int32Array(new SharedArrayBuffer(4));
  readonly #instances = new Set<string>();
  readonly #slots = new Map<number, string>();
  #nextSlot = 1;
  readonly #watchdog: NodeJS.Timeout;
  #samples: { at: number; busyNs: bigint }[] = [];
  #gone = false;
  readonly exited: Promise<void>;

  /**
   * `callTimeoutMs`: longest a service's start() or message handler may run; past it the thread is
   * terminated (it cannot be interrupted otherwise) and the call's instance is the culprit.
   */
  constructor(readonly vendor: string, databasePath: string, readonly cpu: CpuLimit, events: SandboxEvents, resources?: SandboxResources, readonly callTimeoutMs = Infinity) {
    const script = workerScript('vendor-sandbox-worker');
    const calls = new MessageChannel();
    const callSignal = new SharedArrayBuffer(4);
    const refuse = async (call: NetCall) => refusedNetCall(call.method);
    serveSyncCalls(calls.port1, callSignal, (_op, args) => (events.net ?? refuse)(args as NetCall));
    calls.port1.unref();
    this.#worker = new Worker(script.url, {
      eval: script.eval,
      execArgv: [],
      workerData: { vendor, databasePath, cpu: this.#meter.buffer, calls: this.#clock.buffer, callPort: calls.port2, callSignal, headroom: this.#headroom.buffer, resources },
      transferList: [calls.port2],
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: WORKER_YOUNG_MB },
      stdout: false, stderr: false, stdin: false,
    });
    this.#worker.on('message', (m: FromSandbox) => {
      if (m.type === 'stats') {
        this.#statsWaiters.shift()?.(m.stats);
        return;
      }
      if (m.type === 'state' && m.state !== 'running') this.#forget(m.instanceId);
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
      const call = this.#clock.current();
      const culprit = this.#culprit ?? (call ? this.#slots.get(call.slot) : undefined);
      this.#instances.clear();
      this.#slots.clear();
      if (ids.length > 0) events.lost(ids, this.#stopReason ?? lostReason, culprit);
      resolve();
    }));
    this.#headroom[0] = 1;
    const tick = Math.min(Math.max(10, cpu.windowMs / 10), Number.isFinite(callTimeoutMs) ? Math.max(10, callTimeoutMs / 10) : Infinity);
    this.#watchdog = setInterval(() => { this.#checkCpu(); this.#checkCalls(); }, tick);
    this.#watchdog.unref();
  }

  #stopReason: string | undefined;
  #culprit: string | undefined;

  #forget(instanceId: string): void {
    this.#instances.delete(instanceId);
    for (const [slot, id] of this.#slots) if (id === instanceId) this.#slots.delete(slot);
  }

  /** A service call (start, message) past the time limit: the thread is stopped, that instance blamed. */
  #checkCalls(): void {
    const call = this.#clock.current();
    if (!call || call.kind === 'job' || !Number.isFinite(this.callTimeoutMs)) return;
    const ranMs = Date.now() - call.sinceMs;
    if (ranMs <= this.callTimeoutMs) return;
    const instanceId = this.#slots.get(call.slot);
    this.#culprit = instanceId;
    const what = call.kind === 'start' ? 'start()' : 'its message handler';
    this.#stopReason = `call time limit: ${instanceId ?? 'an instance'} spent ${(ranMs / 1000).toFixed(1)} s in ${what} (limit ${this.callTimeoutMs / 1000} s)`;
    void this.terminate();
  }
  readonly #statsWaiters: ((s: SandboxStats) => void)[] = [];

  /**
   * The sandbox thread's memory; `collect` runs a full GC first (for measurements). A thread busy
   * in guest code answers late: after `timeoutMs` this resolves to undefined rather than wait.
   */
  stats(collect = false, timeoutMs = Infinity): Promise<SandboxStats | undefined> {
    if (this.#gone) return Promise.resolve({ heapUsed: 0, external: 0, instances: 0 });
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const answer = (s: SandboxStats | undefined) => { clearTimeout(timer); resolve(s); };
      this.#statsWaiters.push(answer);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          // Its answer may still come: the waiter stays in line (answers arrive in order) but is spent.
          const i = this.#statsWaiters.indexOf(answer);
          if (i >= 0) this.#statsWaiters[i] = () => {};
          resolve(undefined);
        }, timeoutMs);
        timer.unref();
      }
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
    Atomics.store(this.#headroom, 0, this.hasCpuHeadroom() ? 1 : 0);
    const first = this.#samples[0]!;
    const span = now - first.at;
    if (span < this.cpu.windowMs * 0.9) return;
    const usedMs = Number(this.#samples.at(-1)!.busyNs - first.busyNs) / 1e6;
    // One thread cannot use more than a core: a share of 1 or more means no CPU limit.
    if (this.cpu.share < 1 && usedMs > this.cpu.share * span && !this.#stopReason) {
      this.#stopReason = `CPU limit: guests used ${usedMs.toFixed(0)} ms of CPU in ${span.toFixed(0)} ms (limit ${Math.round(this.cpu.share * 100)}% of a core)`;
      void this.terminate();
    }
  }

  #send(m: ToSandbox): void {
    if (!this.#gone) this.#worker.postMessage(m);
  }

  /** Bus and route messages (device-bus.ts); `transfer`: the ports that move to the thread. */
  send(m: ToSandbox, transfer: import('node:worker_threads').MessagePort[] = []): void {
    if (this.#gone) {
      for (const p of transfer) p.close();
      return;
    }
    this.#worker.postMessage(m, transfer);
  }

  start(spec: InstanceSpec): void {
    this.#instances.add(spec.instanceId);
    const slot = this.#nextSlot++;
    this.#slots.set(slot, spec.instanceId);
    this.#send({ type: 'start', spec: { ...spec, slot } });
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
