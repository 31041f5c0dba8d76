// Worker entry: the sandbox of one vendor. It hosts that vendor's instances (components and
// preview1 modules), builds each instance's host APIs from its own grant, and runs guest code
// only in response to the supervisor: start an instance, deliver a message, stop an instance.
// Guest time is metered (CpuMeter) so the supervisor can stop a vendor whose guest spins.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { countHostCalls, hostCallSnapshot, type HostCallCounts } from '../../host-apis/components/call-counter.js';
import { buildComponentImports } from '../../host-apis/components/component-imports.js';
import { KvStore } from '../../host-apis/bulkhead/kv-store.js';
import { createLog, type LogLevel } from '../../host-apis/bulkhead/log.js';
import { createAuditLimiter, DEFAULT_AUDIT_LIMITS } from '../../host-apis/bulkhead/audit.js';
import { PublishLimiter } from '../../host-apis/bulkhead/messaging.js';
import { SubscriptionBudget } from '../../host-apis/bulkhead/subscription-limits.js';
import { scanDiskUsage } from '../../host-apis/limits/disk-usage.js';
import { ResourceLedger, UNLIMITED, type InstanceResources } from '../../host-apis/limits/resource-ledger.js';
import { ComponentExit } from '../../host-apis/wasi-p2/errors.js';
import type { ByteSink, ByteSource } from '../../host-apis/wasi-p2/io.js';
import { fdSink, fdSource } from '../../host-apis/wasi-p1/stdio.js';
import { CallClock, type CallKindName } from './call-clock.js';
import { CpuMeter } from './cpu-meter.js';
import { runGuest } from './guest-run.js';
import { capMemory } from './wasm-binary.js';
import type { NetBroker } from '../../host-apis/net/net-broker.js';
import { SyncCaller } from './sync-call.js';
import { SandboxRoutes } from './sandbox-routes.js';
import { DEFAULT_QUEUE_LIMITS } from '../apps/message-bus.js';
import type { FromSandbox, InstanceEnd, InstanceSpec, LogEntry, NetCall, SandboxInit, ToSandbox } from './vendor-sandbox-protocol.js';

const init = workerData as SandboxInit;
const port = parentPort!;
const meter = new CpuMeter(init.cpu);
const clock = new CallClock(init.calls);
const caller = new SyncCaller(init.callPort, init.callSignal, { beforeBlock: () => meter.leave(), afterBlock: () => meter.enter() });

/** The instance's network, every call decided by the supervisor (which holds the grant). */
function netBroker(instanceId: string): NetBroker {
  const call = (method: string) => (...args: unknown[]) => caller.call('net', { instanceId, method, args } satisfies NetCall);
  return {
    resolve: call('resolve') as NetBroker['resolve'],
    connect: call('connect') as NetBroker['connect'],
    listen: call('listen') as NetBroker['listen'],
    accept: call('accept') as NetBroker['accept'],
    acceptable: call('acceptable') as NetBroker['acceptable'],
    read: call('read') as NetBroker['read'],
    write: call('write') as NetBroker['write'],
    readable: call('readable') as NetBroker['readable'],
    shutdown: call('shutdown') as NetBroker['shutdown'],
    close: call('close') as NetBroker['close'],
    http: call('http') as NetBroker['http'],
  };
}

// Log records leave in batches: one postMessage per record cost more than the rest of log.write.
// A record after a quiet spell (LOG_BATCH_MS) goes at once, so a guest's last words before it
// spins until it is stopped are kept; during a burst a batch goes when it holds LOG_BATCH records,
// when its first is LOG_BATCH_MS old, when the thread gets back to its event loop, and before any
// other message, so the supervisor sees everything in the order it happened. What a forced stop
// (CPU or call time limit, a crash) can lose is the tail of a burst: its last LOG_BATCH_MS, at
// most LOG_BATCH - 1 records.
const LOG_BATCH = 64;
const LOG_BATCH_MS = 20;
let logBatch: LogEntry[] = [];
let logBatchSince = 0;
let lastLogAt = -Infinity;
function flushLogs(): void {
  if (logBatch.length === 0) return;
  const records = logBatch;
  logBatch = [];
  port.postMessage({ type: 'logs', records } satisfies FromSandbox);
}
function postLog(entry: LogEntry): void {
  const now = performance.now();
  const quiet = now - lastLogAt >= LOG_BATCH_MS;
  lastLogAt = now;
  if (logBatch.length === 0 && quiet) {
    port.postMessage({ type: 'logs', records: [entry] } satisfies FromSandbox);
    return;
  }
  if (logBatch.length === 0) {
    logBatchSince = now;
    setImmediate(flushLogs);
  }
  logBatch.push(entry);
  if (logBatch.length >= LOG_BATCH || now - logBatchSince >= LOG_BATCH_MS) flushLogs();
}
const post = (m: FromSandbox) => {
  flushLogs();
  port.postMessage(m);
};
/** Host-interface calls of this vendor's components since the thread started (for /metrics). */
const hostCalls: HostCallCounts = new Map();

// The kv API must answer synchronously, so the sandbox has its own connection to the device DB.
const db = new Database(init.databasePath);
db.pragma('busy_timeout = 5000');
const kv = new KvStore(db);

// Everything the vendor's guests make this thread hold is charged to the vendor's ledger, whose
// counters the supervisor shares; what the vendor already has on disk counts from the start.
const ledger = init.resources ? new ResourceLedger(init.resources.limits, init.resources.ledger) : new ResourceLedger(UNLIMITED);
if (init.resources) ledger.setDiskUsage(scanDiskUsage(init.resources.dataRoot));
const auditLimits = init.resources?.audit ?? DEFAULT_AUDIT_LIMITS;
const publishLimiter = init.resources ? new PublishLimiter(init.resources.publish) : undefined;
const subscriptionBudget = init.resources ? new SubscriptionBudget(init.resources.subscriptions) : undefined;

// The bus: this sandbox's subscribers and its routes to other vendors' sandboxes.
const routes = new SandboxRoutes((topic, payload, from) => post({ type: 'publish', instanceId: from, topic, payload }));
const headroom = new Int32Array(init.headroom);
/** Guest code is running (a publish from inside it must not run another guest's handler in it). */
let inGuest = 0;
function deliverLocal(instanceId: string, topic: string, payload: Uint8Array): void {
  const run = () => {
    const app = instances.get(instanceId)?.app;
    if (app?.onMessage) guestCall(instanceId, 'message', () => app.onMessage!(topic, payload));
    // One at a time per instance; the next after the event loop has had a turn (stops, routes).
    setImmediate(() => routes.local.handled(instanceId));
  };
  if (inGuest > 0) setImmediate(run);
  else run();
}
// What full queues and routes dropped goes to the supervisor (to both sides' logs and counters).
setInterval(() => {
  const { subscribers, publishers } = routes.takeDropCounts();
  if (subscribers.size === 0 && publishers.size === 0) return;
  post({ type: 'drops', subscribers: [...subscribers].map(([id, d]) => [id, d.dropped, d.queue]), publishers: [...publishers] });
}, 500).unref();

interface AppExports {
  start?: () => void;
  onMessage?: (topic: string, payload: Uint8Array) => void;
}
interface Instance { spec: InstanceSpec; app?: AppExports; dispose: () => void; memories: WebAssembly.Memory[]; resources: InstanceResources }
const instances = new Map<string, Instance>();

type InstantiateCore = (module: WebAssembly.Module, imports?: WebAssembly.Imports) => Promise<WebAssembly.Instance>;
type ComponentModule = { instantiate: (get: (name: string) => Promise<WebAssembly.Module>, imports: object, core: InstantiateCore) => Promise<Record<string, unknown>> };
const compiled = new Map<string, Promise<WebAssembly.Module>>();

/** A full GC on request (for memory measurements); the flag is only turned on when asked. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

function coreModule(dir: string, name: string, capBytes: number, tableElements: number | undefined): Promise<WebAssembly.Module> {
  const key = `${dir}/${name}@${capBytes}/${tableElements}`;
  let hit = compiled.get(key);
  if (!hit) {
    hit = (async () => WebAssembly.compile(capMemory(fs.readFileSync(path.join(dir, name)), capBytes, tableElements) as Uint8Array<ArrayBuffer>))();
    compiled.set(key, hit);
  }
  return hit;
}

/** Splits a stream into lines for the log; a line longer than 4 KiB is cut there. */
function lineSink(onLine: (line: string) => void): ByteSink & { flush(): void } {
  let pending = '';
  const decoder = new TextDecoder();
  return {
    write(bytes) {
      pending += decoder.decode(bytes, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0 || pending.length > 4096) {
        const cut = nl >= 0 ? nl : 4096;
        onLine(pending.slice(0, cut));
        pending = pending.slice(nl >= 0 ? cut + 1 : cut);
      }
    },
    flush() {
      if (pending) onLine(pending);
      pending = '';
    },
  };
}

function describe(err: unknown): string {
  if (err instanceof WebAssembly.RuntimeError) return `trap: ${err.message}`;
  if (err instanceof RangeError && /call stack/i.test(err.message)) return 'trap: stack overflow';
  if (err instanceof Error) return err.message;
  const payload = (err as { payload?: unknown } | null)?.payload;
  return `error: ${JSON.stringify(payload ?? err)}`;
}

/**
 * Whether the instance's memory reached its cap. The engine refuses memory.grow past the declared
 * maximum without telling the host, so this is checked when the instance ends: within 1/16 of the
 * cap (an allocation that failed was usually bigger than what was left) counts.
 */
function atMemoryCap(inst: Instance | undefined): boolean {
  if (!inst) return false;
  const slack = Math.max(65536, inst.spec.memoryCapBytes / 16);
  return inst.memories.some((m) => m.buffer.byteLength + slack > inst.spec.memoryCapBytes);
}

function end(instanceId: string, outcome: InstanceEnd): void {
  const inst = instances.get(instanceId);
  if (outcome.state !== 'running') {
    if (atMemoryCap(inst)) {
      const cap = `${inst!.spec.memoryCapBytes / (1024 * 1024)} MiB`;
      post({ type: 'audit', instanceId, denial: { capability: 'memory', attempted: 'grow its memory past the cap', reason: `reached the instance memory cap of ${cap}` }, at: Date.now() });
      if (outcome.state === 'failed') outcome = { state: 'failed', reason: `memory cap of ${cap} reached (${outcome.reason})` };
    }
    routes.ended(instanceId);
    inst?.dispose();
    inst?.resources.release();
    instances.delete(instanceId);
  }
  post({ type: 'state', instanceId, at: Date.now(), ...outcome });
}

/** Runs guest code of one instance; a trap or exit ends that instance, never the sandbox. */
function guestCall(instanceId: string, kind: CallKindName, fn: () => void): boolean {
  try {
    const slot = instances.get(instanceId)?.spec.slot ?? 0;
    inGuest++;
    clock.call(slot, kind, () => meter.guest(fn));
    return true;
  } catch (err) {
    if (err instanceof ComponentExit) end(instanceId, { state: 'exited', code: err.code });
    else end(instanceId, { state: 'failed', reason: describe(err) });
    return false;
  } finally {
    inGuest--;
  }
}

async function start(spec: InstanceSpec): Promise<void> {
  const id = spec.instanceId;
  const at = () => Date.now();
  // Audit events are rate-limited per instance: a guest looping on a denied call costs bounded rows.
  const auditLimiter = createAuditLimiter((denial) => post({ type: 'audit', instanceId: id, denial, at: at() }), auditLimits);
  const audit = auditLimiter.audit;
  const resources = ledger.instance(id, (resource, attempted, reason) => audit({ capability: `limits.${resource}`, attempted, reason }), spec.resourceCells);
  const toLog = (r: Parameters<Parameters<typeof createLog>[0]>[0]) => postLog({ instanceId: id, level: r.level, message: r.message, fields: r.fields, at: at() });
  // Two budgets: a flood through the log API cannot silence the std streams, nor the other way.
  const log = createLog(toLog, spec.logLimits, audit);
  const streamLog = createLog(toLog, spec.logLimits, audit);
  const stream = (level: LogLevel, name: string) => lineSink((line) => streamLog.write(level, line, [['stream', name]]));
  const inherit = spec.stdio === 'inherit';
  const passThrough = (fd: number) => ({ ...fdSink(fd), flush() {} });
  const stdout = inherit ? passThrough(1) : stream('info', 'stdout');
  const stderr = inherit ? passThrough(2) : stream('warn', 'stderr');
  const stdinFd = inherit ? fdSource(0) : undefined;
  const stdin: ByteSource = stdinFd
    ? { read: (max) => { const buf = new Uint8Array(max); const n = stdinFd.read(buf); return n === 0 ? null : buf.subarray(0, n); } }
    : { read: () => null };
  const flush = () => (stdout.flush(), stderr.flush(), log.flush(), streamLog.flush(), auditLimiter.flush());

  if (spec.kind === 'module') {
    // A preview1 command: run to completion with the grant's files, args and env.
    instances.set(id, { spec, dispose: () => {}, memories: [], resources });
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(capMemory(fs.readFileSync(spec.path), spec.memoryCapBytes, spec.tableElements) as Uint8Array<ArrayBuffer>);
    } catch (err) {
      end(id, { state: 'failed', reason: `instantiation failed: ${describe(err)}` });
      return;
    }
    // Stopped while compiling: its end was reported, so the supervisor may have closed its handles.
    if (!instances.has(id)) return;
    end(id, { state: 'running', role: 'job' });
    const result = clock.call(spec.slot ?? 0, 'job', () => meter.guest(() => runGuest({
      module, args: [spec.component, ...spec.args], env: spec.grant.env, preopens: spec.grant.fs,
      stdio: 'capture', memoryCapBytes: spec.memoryCapBytes, resources,
    })));
    stdout.write(new TextEncoder().encode(result.stdout ?? ''));
    stderr.write(new TextEncoder().encode(result.stderr ?? ''));
    flush();
    const o = result.outcome;
    end(id, o.kind === 'exit' ? { state: 'exited', code: o.code } : { state: 'failed', reason: 'message' in o ? `${o.kind}: ${o.message}` : o.kind });
    return;
  }

  const built = buildComponentImports({
    grant: spec.grant, args: [spec.component, ...spec.args], parameters: spec.parameters,
    stdin, stdout, stderr, kv,
    bus: {
      publish: (topic, payload) => routes.publish(topic, payload, id),
      subscribe: (pattern) => {
        if (!instances.has(id)) return;
        const added = routes.subscribe(id, pattern, {
          deliver: deliverLocal, queue: spec.queue ?? DEFAULT_QUEUE_LIMITS, resources, acks: true,
          ready: () => Atomics.load(headroom, 0) === 1,
          // The messaging API refused past the cap already; the bus holds no more than it either way.
          maxPatterns: init.resources?.subscriptions.perInstance,
        });
        if (added) post({ type: 'subscribed', instanceId: id });
      },
    },
    log: log.write, audit, net: netBroker(id), resources, publishLimiter, subscriptionBudget,
    hooks: { beforeBlock: () => meter.leave(), afterBlock: () => meter.enter() },
  });
  const memories: WebAssembly.Memory[] = [];
  instances.set(id, { spec, dispose: () => (flush(), built.dispose()), memories, resources });
  // Every core instance passes through here, so the instance's memories can be watched.
  const instantiateCore: InstantiateCore = async (module, imports) => {
    const instance = await WebAssembly.instantiate(module, imports);
    for (const value of Object.values(instance.exports)) if (value instanceof WebAssembly.Memory) memories.push(value);
    return instance;
  };
  let exports: Record<string, unknown>;
  // Instantiation runs guest code too (start functions) and allocates what the module declares.
  clock.begin(spec.slot ?? 0, 'start');
  inGuest++;
  try {
    const mod = (await import(pathToFileURL(path.join(spec.path, 'component.mjs')).href)) as ComponentModule;
    exports = await mod.instantiate((name) => coreModule(spec.path, name, spec.memoryCapBytes, spec.tableElements), countHostCalls(built.imports, hostCalls), instantiateCore);
  } catch (err) {
    end(id, { state: 'failed', reason: `instantiation failed: ${describe(err)}` });
    return;
  } finally {
    inGuest--;
    clock.end(spec.slot ?? 0);
  }
  const inst = instances.get(id);
  if (!inst) return; // stopped while it was being instantiated
  const run = exports.run as { run?: () => void } | undefined;
  const app = exports.app as AppExports | undefined;
  if (app?.start && app.onMessage) {
    inst.app = app;
    if (guestCall(id, 'start', () => app.start!())) end(id, { state: 'running', role: 'service' });
  } else if (run?.run) {
    // Said before the job runs: it holds this thread until it exits, and its app is running meanwhile.
    end(id, { state: 'running', role: 'job' });
    if (guestCall(id, 'job', () => run.run!())) end(id, { state: 'exited', code: 0 });
  } else {
    end(id, { state: 'failed', reason: 'the component exports neither wasi:cli/run nor bulkhead:host/app' });
  }
}

port.on('message', (m: ToSandbox) => {
  if (m.type === 'start') {
    void start(m.spec).catch((err) => end(m.spec.instanceId, { state: 'failed', reason: describe(err) }));
  } else if (m.type === 'inbound') {
    routes.local.publish(m.topic, m.payload);
  } else if (m.type === 'link') {
    routes.link(m.peer, m.port, m.out, m.in);
  } else if (m.type === 'host-subscribed') {
    routes.hostSubscribed(m.instanceId, m.pattern);
  } else if (m.type === 'host-unsubscribed') {
    routes.hostUnsubscribed(m.instanceId);
  } else if (m.type === 'stop') {
    if (instances.has(m.instanceId)) end(m.instanceId, { state: 'stopped' });
  } else if (m.type === 'stats') {
    if (m.collect) collectGarbage();
    const mem = process.memoryUsage();
    post({ type: 'stats', stats: { heapUsed: mem.heapUsed, external: mem.external, instances: instances.size, hostCalls: hostCallSnapshot(hostCalls) } });
  }
});
