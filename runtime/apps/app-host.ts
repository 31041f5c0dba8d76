// Runs wasm apps: one sandbox (worker thread) per vendor hosting that vendor's instances, a
// message bus between them, per-vendor admission limits (instances, memory), and everything that
// happens recorded in the state database: instance and app state, logs, audit events.
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { InstalledPackage } from '../../packages/install/installed-packages.js';
import type { DevicePolicy } from '../state/device-policy.js';
import type { FromSandbox } from '../sandbox/vendor-sandbox-protocol.js';
import { VendorSandbox } from '../sandbox/vendor-sandbox.js';
import { AppRecords, isoTime, type ActualState, type LogRow } from './app-records.js';
import type { EffectiveGrant } from '../../host-apis/capabilities/grant.js';
import { planApp, releasePlan, type AppPlan } from './app-plan.js';
import { closeGrantDirectories, grantDirectoryCount } from './grant-directories.js';
import type { QueueLimits } from './message-bus.js';
import { DeviceBus } from './device-bus.js';
import { NetService } from './net-service.js';
import { DeviceFdBudget, ResourceLedger, type InstanceResources } from '../../host-apis/limits/resource-ledger.js';
import { createAuditLimiter, DEFAULT_AUDIT_LIMITS, type AuditSink } from '../../host-apis/bulkhead/audit.js';
import { RecordRetention } from './record-retention.js';
import { ResourceRecords } from './resource-records.js';
import { stateLimits } from '../state/state-limits.js';
import type { AuditRow } from './app-records.js';
import { ContainerNetworks } from './container-networks.js';
import { currentDeviceAddresses, ProtectedAddresses } from '../../host-apis/net/protected-addresses.js';

interface LiveInstance {
  instanceId: string; appId: string; component: string; vendor: string; memoryBytes: number; role: string | null; state: string; reason?: string | null;
  /** The instance's grant: its directory handles are held (and counted) until the instance ends. */
  grant: EffectiveGrant;
  /** What the supervisor holds for it (sockets, queued messages), charged to its vendor. */
  resources?: InstanceResources;
  /** Audit events raised on this side (network, limits), rate-limited like the sandbox's own. */
  audit?: ReturnType<typeof createAuditLimiter>;
  queue?: QueueLimits;
}
interface LiveApp { plan: AppPlan; instances: Map<string, LiveInstance>; settled: () => void }

export interface AppHostOptions {
  dataDir: string;
  db: Database.Database;
  policy: () => DevicePolicy;
  /** Called for every log record and state change, e.g. to print them in the foreground. */
  onEvent?: (event: { kind: 'log'; row: Omit<LogRow, 'id'> } | { kind: 'state'; appId: string; state: ActualState; reason: string | null }) => void;
  /**
   * Runs after an app is planned (its grants resolved to directory handles) and before its
   * instances reach the sandbox. For tests that change the files in between, as a racing app would.
   */
  afterPlan?: (plan: AppPlan) => Promise<void> | void;
  /** A vendor sandbox went down on its own (not stopped by the host): which apps it took along. */
  onSandboxLost?: (loss: SandboxLoss) => void;
}

export interface SandboxLoss {
  vendor: string;
  reason: string;
  /** False when the host ended it (an operator's stop of a busy thread): nobody's crash. */
  crash: boolean;
  /** The app whose guest code was running when it went; undefined when none was. */
  culprit?: string;
  /** Every app that had instances in it, and whether it had a service (long-running) among them. */
  apps: { appId: string; service: boolean }[];
}

const OPERATOR_STOP = 'stopped by the operator';

export class AppStartError extends Error {}

/** SQLite could not write because the disk (or the database's size limit) is full. */
function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_WRITE' || code === 'SQLITE_IOERR';
}

let startCounter = 0;

export class AppHost {
  readonly records: AppRecords;
  readonly bus = new DeviceBus();
  readonly #containerNetworks = new ContainerNetworks();
  readonly net = new NetService((instanceId, denial) => {
    const inst = this.#instances.get(instanceId);
    if (inst) this.#limitedAudit(inst)(denial);
  }, undefined, new ProtectedAddresses([], currentDeviceAddresses, () => this.#containerNetworks.cidrs()), () => this.#containerNetworks.refresh());
  readonly resources: ResourceRecords;
  readonly #retention: RecordRetention;
  /** Descriptors all guests may hold together (the process limit minus the daemon's reserve). */
  readonly #deviceFds = new DeviceFdBudget();
  readonly #ledgers = new Map<string, ResourceLedger>();
  /** Per vendor, messages dropped since the daemon started: to its subscribers, and of its publishing. */
  readonly #drops = new Map<string, { received: number; published: number }>();
  #pendingAudit: Omit<AuditRow, 'id'>[] = [];
  /** Rows the database would not take (a full disk): dropped and counted, never a crash. */
  readonly dropped = { logRows: 0, auditRows: 0, stateWrites: 0 };
  #dropsRecorded = { logRows: 0, auditRows: 0, stateWrites: 0 };
  readonly #sandboxes = new Map<string, VendorSandbox>();
  readonly #apps = new Map<string, LiveApp>();
  readonly #instances = new Map<string, LiveInstance>();
  /** `vendor`: whose row quota they count against. */
  #pendingLogs: (Omit<LogRow, 'id'> & { vendor: string })[] = [];
  readonly #endWaiters = new Map<string, (() => void)[]>();
  readonly #flushTimer: NodeJS.Timeout;

  constructor(private readonly options: AppHostOptions) {
    this.records = new AppRecords(options.db);
    this.resources = new ResourceRecords(options.db);
    this.#retention = new RecordRetention(options.db, () => stateLimits(this.options.policy()));
    this.#flushTimer = setInterval(() => this.flushLogs(), 100);
    this.#flushTimer.unref();
    this.#statsTimer = setInterval(() => void this.recordSandboxes(), 2000);
    this.#statsTimer.unref();
  }

  readonly #statsTimer: NodeJS.Timeout;

  /** Each vendor sandbox's instances, guest CPU time and memory, for `bulkhead status`. */
  async recordSandboxes(): Promise<void> {
    this.#reportDrops();
    try {
      // Small batches, a few per pass while a flood keeps them full; the write lock is never held long.
      for (let i = 0; i < 10 && this.#retention.pruneBatch() > 0; i++);
      this.#recordResources();
    } catch (err) {
      if (!isDiskFull(err)) throw err;
    }
    // Each sandbox answers on its own thread; one busy in guest code is skipped this time, never waited for.
    await Promise.all([...this.#sandboxes].map(async ([vendor, s]) => {
      if (!s.alive) return;
      const stats = await s.stats(false, 1000);
      if (!stats || !s.alive) return; // busy, or it ended meanwhile (its end was recorded)
      this.#noteHostCalls(vendor, s, stats.hostCalls ?? {});
      try {
        this.records.upsertSandbox({ vendor, state: 'running', instances: stats.instances, cpuMs: s.cpuMs(), memoryBytes: stats.heapUsed + stats.external, reason: null });
      } catch (err) {
        if (!isDiskFull(err)) throw err;
      }
    }));
  }

  // Host-interface calls per vendor: what earlier sandbox threads of the vendor counted, plus the
  // latest count of its current one (sampled with the stats above, so at most 2 s old; the calls
  // of a thread's last 2 s before it ends are not counted).
  readonly #hostCalls = new Map<string, { sandbox: VendorSandbox; latest: Record<string, number>; earlier: Record<string, number> }>();

  #noteHostCalls(vendor: string, sandbox: VendorSandbox, now: Record<string, number>): void {
    let e = this.#hostCalls.get(vendor);
    if (!e) this.#hostCalls.set(vendor, (e = { sandbox, latest: {}, earlier: {} }));
    if (e.sandbox !== sandbox) {
      for (const [iface, n] of Object.entries(e.latest)) e.earlier[iface] = (e.earlier[iface] ?? 0) + n;
      e.sandbox = sandbox;
    }
    e.latest = now;
  }

  /** Calls into each host interface per vendor since this host started (for /metrics). */
  hostCalls(): { vendor: string; interface: string; calls: number }[] {
    const out: { vendor: string; interface: string; calls: number }[] = [];
    for (const [vendor, e] of this.#hostCalls) {
      for (const iface of new Set([...Object.keys(e.earlier), ...Object.keys(e.latest)])) {
        out.push({ vendor, interface: iface, calls: (e.earlier[iface] ?? 0) + (e.latest[iface] ?? 0) });
      }
    }
    return out;
  }

  /** Each vendor's usage against its caps, and the daemon's own drops, for `bulkhead status`. */
  #recordResources(): void {
    for (const [vendor, ledger] of this.#ledgers) {
      const u = ledger.usage();
      const l = ledger.limits;
      const d = this.#drops.get(vendor) ?? { received: 0, published: 0 };
      this.resources.upsert({
        vendor, hostBytes: u.hostBytes, hostBytesLimit: l.hostBytes, fds: u.fds, fdsLimit: l.fdsPerVendor,
        diskBytes: u.diskBytes, diskLimit: l.diskBytes, messagesDropped: d.received, publishedDropped: d.published,
      });
    }
    if (this.dropped.logRows !== this.#dropsRecorded.logRows || this.dropped.auditRows !== this.#dropsRecorded.auditRows) {
      this.resources.setDeviceDrops(this.dropped.logRows, this.dropped.auditRows);
      this.#dropsRecorded = { ...this.dropped };
    }
  }

  /**
   * Messages lost to full subscriber queues, told to both sides: a warning in the subscriber's log
   * and in the publisher's, at most one each per report, and in the vendors' status counters.
   */
  #reportDrops(): void {
    const { subscribers, publishers } = this.bus.takeDropCounts();
    const count = (vendor: string, key: 'received' | 'published', n: number) => {
      const d = this.#drops.get(vendor) ?? { received: 0, published: 0 };
      d[key] += n;
      this.#drops.set(vendor, d);
    };
    for (const [id, { dropped, queue }] of subscribers) {
      const inst = this.#instances.get(id);
      if (!inst) continue;
      count(inst.vendor, 'received', dropped);
      this.#log(inst, 'warn', `message queue full: ${dropped} messages dropped (${queue.overflow}, queue of ${queue.messages} messages / ${queue.bytes} bytes)`, { dropped: String(dropped) });
    }
    for (const [id, dropped] of publishers) {
      const inst = this.#instances.get(id);
      if (!inst) continue;
      count(inst.vendor, 'published', dropped);
      this.#log(inst, 'warn', `${dropped} published messages were dropped by subscribers whose queues were full`, { dropped: String(dropped) });
    }
  }

  #log(inst: LiveInstance, level: string, message: string, fields: Record<string, string>): void {
    const row = { appId: inst.appId, component: inst.component, at: isoTime(), level, message, fields };
    this.#pendingLogs.push({ ...row, vendor: inst.vendor });
    this.options.onEvent?.({ kind: 'log', row });
  }

  get runningApps(): string[] {
    return [...this.#apps.keys()];
  }

  /** The vendor of a running app. */
  vendorOf(appId: string): string | undefined {
    return this.#apps.get(appId)?.plan.vendor;
  }

  /** Directory handles the vendor's running instances hold (each grant root is one open fd). */
  directoryHandles(vendor: string): number {
    return [...this.#instances.values()].filter((i) => i.vendor === vendor).reduce((n, i) => n + grantDirectoryCount(i.grant), 0);
  }

  sandboxOf(vendor: string): VendorSandbox | undefined {
    return this.#sandboxes.get(vendor);
  }

  /**
   * Writes the pending log and audit rows in one transaction each. When the database cannot take
   * them (SQLITE_FULL: the disk is full) they are dropped and counted (`bulkhead status`), so the
   * daemon and every other vendor's apps keep running.
   */
  flushLogs(): void {
    if (this.#pendingLogs.length > 0) {
      const rows = this.#pendingLogs;
      this.#pendingLogs = [];
      try {
        this.records.addLogs(rows);
      } catch (err) {
        if (!isDiskFull(err)) throw err;
        this.dropped.logRows += rows.length;
      }
    }
    if (this.#pendingAudit.length > 0) {
      const rows = this.#pendingAudit;
      this.#pendingAudit = [];
      try {
        this.options.db.transaction(() => { for (const r of rows) this.records.addAudit(r); })();
      } catch (err) {
        if (!isDiskFull(err)) throw err;
        this.dropped.auditRows += rows.length;
      }
    }
  }

  /** The vendor's ledger, created with its first sandbox and kept while the daemon runs. */
  #ledger(plan: AppPlan): ResourceLedger {
    let ledger = this.#ledgers.get(plan.vendor);
    if (!ledger) {
      ledger = new ResourceLedger(plan.vendorWasm.limits.resources, { vendor: new SharedArrayBuffer(24), device: this.#deviceFds.buffer });
      this.#ledgers.set(plan.vendor, ledger);
    }
    return ledger;
  }

  /** A vendor's ledger (for status and tests). */
  ledgerOf(vendor: string): ResourceLedger | undefined {
    return this.#ledgers.get(vendor);
  }

  #sandbox(plan: AppPlan): VendorSandbox {
    let s = this.#sandboxes.get(plan.vendor);
    if (s?.alive) return s;
    const limits = plan.vendorWasm.limits;
    const ledger = this.#ledger(plan);
    s = new VendorSandbox(plan.vendor, path.join(this.options.dataDir, 'state.db'), limits.cpu, {
      message: (m) => {
        // A full disk fails this record, not the daemon (which would take every vendor down).
        try {
          this.#onSandboxMessage(m);
        } catch (err) {
          if (!isDiskFull(err)) throw err;
          this.dropped.stateWrites++;
        }
      },
      net: (call) => this.net.handle(call),
      lost: (ids, reason, culprit) => {
        if (this.#sandboxes.get(plan.vendor) === s) this.#sandboxes.delete(plan.vendor);
        this.bus.detach(plan.vendor, s!);
        this.records.upsertSandbox({ vendor: plan.vendor, state: 'stopped', instances: 0, cpuMs: s!.cpuMs(), memoryBytes: 0, reason });
        const culpritApp = culprit ? this.#instances.get(culprit)?.appId : undefined;
        const apps = new Map<string, boolean>();
        for (const id of ids) {
          const inst = this.#instances.get(id);
          if (!inst) continue;
          apps.set(inst.appId, (apps.get(inst.appId) ?? false) || inst.role === 'service');
          if (reason.startsWith('CPU limit')) this.#audit(inst, { capability: 'cpu', attempted: 'CPU time over the vendor share', reason });
          if (reason.startsWith('call time limit') && id === culprit) this.#audit(inst, { capability: 'time', attempted: 'a call into the guest past its time limit', reason });
          this.#instanceEnded(inst, 'failed', null, reason);
        }
        if (apps.size > 0) {
          // An operator's stop that had to end the thread is nobody's crash; its bystanders still went down.
          const crash = reason !== OPERATOR_STOP;
          this.options.onSandboxLost?.({ vendor: plan.vendor, reason, crash, culprit: crash ? culpritApp : undefined, apps: [...apps].map(([appId, service]) => ({ appId, service })) });
        }
      },
    }, { ledger: ledger.buffers, limits: ledger.limits, dataRoot: plan.vendorWasm.grantPolicy.dataRoot, audit: limits.audit, publish: limits.publish, subscriptions: limits.subscriptions }, plan.vendorWasm.limits.callTimeoutMs);
    this.#sandboxes.set(plan.vendor, s);
    this.bus.attach(plan.vendor, s);
    return s;
  }

  /** Queues an audit row (written with the logs, in one transaction per flush). */
  #audit(inst: LiveInstance, d: { capability: string; attempted: string; reason: string }): void {
    this.#pendingAudit.push({ at: isoTime(), vendor: inst.vendor, appId: inst.appId, component: inst.component, ...d });
    if (this.#pendingAudit.length >= 500) this.flushLogs();
  }

  /** The instance's audit, rate-limited, for events raised on this side. */
  #limitedAudit(inst: LiveInstance): AuditSink {
    inst.audit ??= createAuditLimiter((d) => this.#audit(inst, d), DEFAULT_AUDIT_LIMITS);
    return inst.audit.audit;
  }

  #onSandboxMessage(m: FromSandbox): void {
    if (m.type === 'stats') return; // answered by VendorSandbox.stats()
    if (m.type === 'drops') {
      this.bus.dropsReported(m.subscribers, m.publishers);
      return;
    }
    if (m.type === 'logs') {
      for (const r of m.records) {
        const inst = this.#instances.get(r.instanceId);
        if (!inst) continue;
        const row = { appId: inst.appId, component: inst.component, at: isoTime(r.at), level: r.level, message: r.message, fields: r.fields };
        this.#pendingLogs.push({ ...row, vendor: inst.vendor });
        if (this.#pendingLogs.length >= 500) this.flushLogs();
        this.options.onEvent?.({ kind: 'log', row });
      }
      return;
    }
    const inst = this.#instances.get(m.instanceId);
    if (!inst) return;
    switch (m.type) {
      case 'audit':
        this.#audit(inst, m.denial);
        break;
      case 'publish':
        this.bus.fromSandbox(m.topic, m.payload, m.instanceId);
        break;
      case 'subscribed':
        this.bus.sandboxSubscribed(m.instanceId);
        break;
      case 'state':
        // One commit for the instance row and the app state it changes (each commit waits for the disk).
        this.#inTransaction(() => this.#instanceState(inst, m));
        break;
    }
  }

  #inTransaction(fn: () => void): void {
    this.options.db.transaction(fn)();
  }

  #instanceState(inst: LiveInstance, m: Extract<FromSandbox, { type: 'state' }>): void {
    if (m.state === 'running') {
      inst.state = 'running';
      inst.role = m.role;
      this.records.upsertInstance({ ...inst, state: 'running', exitCode: null, reason: null });
      this.#appChanged(inst.appId);
    } else if (m.state === 'exited') {
      this.#instanceEnded(inst, m.code === 0 ? 'exited' : 'failed', m.code, m.code === 0 ? null : `${inst.component} exited with code ${m.code}`);
    } else {
      this.#instanceEnded(inst, m.state, null, m.state === 'failed' ? `${inst.component}: ${m.reason}` : null);
    }
  }

  #instanceEnded(inst: LiveInstance, state: string, exitCode: number | null, reason: string | null): void {
    inst.state = state;
    inst.reason = reason;
    this.bus.unsubscribeAll(inst.instanceId);
    this.net.unregister(inst.instanceId);
    inst.audit?.flush();
    inst.resources?.release();
    this.#instances.delete(inst.instanceId);
    // The sandbox said the instance ended (or its thread is gone): nothing uses the handles any more.
    closeGrantDirectories(inst.grant);
    this.records.upsertInstance({ ...inst, state, exitCode, reason });
    this.#appChanged(inst.appId);
  }

  /** Recomputes an app's actual state from its instances once none is still starting. */
  #appChanged(appId: string): void {
    const live = this.#apps.get(appId);
    if (!live) return;
    const states = [...live.instances.values()];
    if (states.some((i) => i.state === 'starting')) return;
    const failed = states.find((i) => i.state === 'failed');
    let actual: ActualState;
    if (failed) actual = 'failed';
    else if (states.some((i) => i.state === 'running')) actual = 'running';
    else if (states.every((i) => i.state === 'exited')) actual = 'completed';
    else actual = 'stopped';
    const reason = failed?.reason ?? null;
    if (actual !== 'running') {
      // A failed app stops entirely: its remaining instances are stopped, never left half-running.
      for (const i of states) if (i.state === 'running') this.#sandboxes.get(i.vendor)?.stop(i.instanceId);
      if (states.some((i) => i.state === 'running')) return;
      this.#apps.delete(appId);
    }
    this.records.setActual(appId, actual, reason);
    this.options.onEvent?.({ kind: 'state', appId, state: actual, reason });
    live.settled();
    if (actual !== 'running') {
      for (const resolve of this.#endWaiters.get(appId) ?? []) resolve();
      this.#endWaiters.delete(appId);
    }
  }

  /** Resolves when the app is no longer running (its jobs finished, or it failed or was stopped). */
  async ended(appId: string): Promise<ActualState> {
    if (this.#apps.has(appId)) await new Promise<void>((resolve) => this.#endWaiters.set(appId, [...(this.#endWaiters.get(appId) ?? []), resolve]));
    return this.records.app(appId)?.actual ?? 'stopped';
  }

  /**
   * Starts an installed app's components in its vendor's sandbox. Resolves once every instance has
   * started (a service is up, a job is running) or already ended; the app's state is then in the
   * database. A job's end is recorded when it comes.
   */
  async start(pkg: InstalledPackage, parameters: Record<string, string> = {}): Promise<ActualState> {
    if (this.#apps.has(pkg.appId)) return 'running';
    const plan = await planApp(pkg, this.options.policy(), this.options.dataDir, parameters);
    try {
      await this.options.afterPlan?.(plan);
    } catch (err) {
      releasePlan(plan);
      throw err;
    }
    const limits = plan.vendorWasm.limits;
    const ofVendor = [...this.#instances.values()].filter((i) => i.vendor === plan.vendor);
    const memoryInUse = ofVendor.reduce((sum, i) => sum + i.memoryBytes, 0);
    const memoryWanted = plan.components.reduce((sum, c) => sum + c.memoryCapBytes, 0);
    let refusal: string | undefined;
    if (ofVendor.length + plan.components.length > limits.maxInstances) {
      refusal = `${plan.vendor} may run ${limits.maxInstances} instances; ${ofVendor.length} are running and ${pkg.appId} needs ${plan.components.length}`;
    } else if (memoryInUse + memoryWanted > limits.memoryTotalBytes) {
      refusal = `${plan.vendor}'s memory budget is ${limits.memoryTotalBytes} bytes; ${memoryInUse} are reserved and ${pkg.appId} needs ${memoryWanted}`;
    }
    // The start's records go in one commit (then one more when its instances say they run): each
    // commit waits for the disk, and a start used to make five or more.
    const started = this.options.db.transaction(() => this.#recordStart(pkg, plan, refusal))();
    if (!started) return 'failed';
    this.flushLogs();
    const { live, run, done } = started;
    const sandbox = this.#sandbox(plan);
    for (const c of plan.components) {
      sandbox.start({
        instanceId: `${pkg.appId}/${c.name}#${run}`, app: pkg.appId, component: c.name, kind: c.kind, path: c.path,
        grant: c.grant, args: c.args, parameters: c.parameters, memoryCapBytes: c.memoryCapBytes, tableElements: limits.tableElements, logLimits: limits.log,
        queue: c.queue,
        resourceCells: live.instances.get(`${pkg.appId}/${c.name}#${run}`)?.resources?.shared,
      });
    }
    await done;
    return this.records.app(pkg.appId)?.actual ?? 'stopped';
  }

  /** What a start records before its instances start; undefined when it is refused (recorded too). */
  #recordStart(pkg: InstalledPackage, plan: AppPlan, refusal: string | undefined) {
    this.records.ensure(pkg.appId);
    this.records.clearInstances(pkg.appId);
    if (refusal) {
      releasePlan(plan);
      // What the plan refused (a grant through a link, ...) is on record even when nothing starts.
      for (const c of plan.components) {
        for (const d of c.denials) this.records.addAudit({ at: isoTime(), vendor: plan.vendor, appId: pkg.appId, component: c.name, capability: d.capability, attempted: `requested ${d.requested}`, reason: d.reason });
      }
      this.records.addAudit({ at: isoTime(), vendor: plan.vendor, appId: pkg.appId, component: '*', capability: 'limits', attempted: 'start', reason: refusal });
      this.records.setActual(pkg.appId, 'failed', refusal);
      this.options.onEvent?.({ kind: 'state', appId: pkg.appId, state: 'failed', reason: refusal });
      return undefined;
    }
    this.records.setActual(pkg.appId, 'starting');
    const run = ++startCounter;
    let settled!: () => void;
    const done = new Promise<void>((resolve) => { settled = resolve; });
    const live: LiveApp = { plan, instances: new Map(), settled };
    this.#apps.set(pkg.appId, live);
    const ledger = this.#ledger(plan);
    for (const c of plan.components) {
      const instanceId = `${pkg.appId}/${c.name}#${run}`;
      const inst: LiveInstance = { instanceId, appId: pkg.appId, component: c.name, vendor: plan.vendor, memoryBytes: c.memoryCapBytes, role: null, state: 'starting', grant: c.grant, queue: c.queue };
      inst.resources = ledger.instance(instanceId, (resource, attempted, reason) => this.#limitedAudit(inst)({ capability: `limits.${resource}`, attempted, reason }));
      // What the manifest asked for and did not get is on record before the guest runs.
      for (const d of c.denials) this.#audit(inst, { capability: d.capability, attempted: `requested ${d.requested}`, reason: d.reason });
      live.instances.set(inst.instanceId, inst);
      this.#instances.set(inst.instanceId, inst);
      this.net.register(inst.instanceId, c.grant.netConnect, c.grant.netListen, inst.resources);
      this.records.upsertInstance({ ...inst, exitCode: null, reason: null });
    }
    return { live, run, done };
  }

  /** Stops an app's running instances (services); finished jobs have nothing to stop. */
  async stop(appId: string): Promise<void> {
    const live = this.#apps.get(appId);
    if (!live) return;
    const done = new Promise<void>((resolve) => { live.settled = resolve; });
    const running = [...live.instances.values()].filter((i) => i.state === 'running' || i.state === 'starting');
    for (const i of running) this.#sandboxes.get(i.vendor)?.stop(i.instanceId);
    // A sandbox busy in guest code cannot take the stop request; the CPU watchdog ends it, but a
    // stop should not wait on that: after 2 s the vendor's thread is terminated.
    const timer = setTimeout(() => { for (const i of running) void this.#sandboxes.get(i.vendor)?.terminate(OPERATOR_STOP); }, 2000);
    await done;
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    // Concurrently: a vendor whose thread is busy (each waits up to 2 s) delays no other.
    await Promise.all([...this.#apps.keys()].map((appId) => this.stop(appId)));
    clearInterval(this.#flushTimer);
    clearInterval(this.#statsTimer);
    this.flushLogs();
    for (const [vendor, s] of this.#sandboxes) {
      this.records.upsertSandbox({ vendor, state: 'stopped', instances: 0, cpuMs: s.cpuMs(), memoryBytes: 0, reason: 'the daemon stopped' });
    }
    await Promise.all([...this.#sandboxes.values()].map((s) => s.terminate()));
    this.#sandboxes.clear();
  }
}
