// /metrics in the Prometheus text format (prom-client, on a registry of our own rather than the
// global one). Gauges about apps and sandboxes are read from the state database when scraped, so
// they are right whoever wrote the rows; the denial counter advances by the audit rows added since
// the last scrape, so it only ever grows while the daemon runs (and restarts at 0 with it, as
// Prometheus counters do). Labels are bounded: vendor, app, capability, route pattern, never a path.
import type Database from 'better-sqlite3';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AppRecords } from '../apps/app-records.js';

const APP_STATES = ['starting', 'running', 'completed', 'failed', 'stopped'] as const;

export interface HostCallCount { vendor: string; interface: string; calls: number }

export class DeviceMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly requestSeconds: Histogram<'method' | 'route'>;
  readonly installSeconds: Histogram<'outcome'>;
  readonly verifySeconds: Histogram<'outcome'>;
  readonly followers: Gauge;
  readonly refusedConnections: Counter<'reason'>;
  #lastAuditId = -1;

  constructor(records: AppRecords, db: Database.Database, followers: () => number, hostCalls: () => HostCallCount[] = () => []) {
    const registers = [this.registry];
    // Process metrics with our prefix: bulkhead_process_resident_memory_bytes (daemon RSS),
    // bulkhead_nodejs_eventloop_lag_seconds (event-loop lag), CPU, heap, handles.
    collectDefaultMetrics({ register: this.registry, prefix: 'bulkhead_', eventLoopMonitoringPrecision: 20 });
    this.requests = new Counter({ name: 'bulkhead_api_requests_total', help: 'API requests answered, by route pattern and status', labelNames: ['method', 'route', 'status'], registers });
    this.requestSeconds = new Histogram({
      name: 'bulkhead_api_request_duration_seconds', help: 'API request latency by route pattern', labelNames: ['method', 'route'], registers,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    });
    this.installSeconds = new Histogram({ name: 'bulkhead_package_install_duration_seconds', help: 'package installs through the API, upload received to committed', labelNames: ['outcome'], registers, buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
    this.verifySeconds = new Histogram({ name: 'bulkhead_package_verify_duration_seconds', help: 'package verification (signatures, archive, manifest) during installs', labelNames: ['outcome'], registers, buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
    this.followers = new Gauge({ name: 'bulkhead_api_followers', help: 'open log and event streams', registers, collect() { this.set(followers()); } });
    this.refusedConnections = new Counter({ name: 'bulkhead_api_tls_refused_total', help: 'TLS connections refused during the handshake (no, expired or untrusted client certificate)', labelNames: ['reason'], registers });

    const denials = new Counter({ name: 'bulkhead_hostapi_denials_total', help: 'capability uses refused to guests (each is an audit event), by vendor and capability', labelNames: ['vendor', 'capability'], registers, collect: () => advance() });
    const countDenials = db.prepare('SELECT id, vendor, capability FROM audit_events WHERE id > ? ORDER BY id');
    const maxAudit = db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM audit_events');
    // Counting starts when the daemon starts; earlier events are history, not this process's count.
    this.#lastAuditId = (maxAudit.get() as { id: number }).id;
    const advance = () => {
      for (const r of countDenials.all(this.#lastAuditId) as { id: number; vendor: string; capability: string }[]) {
        denials.inc({ vendor: r.vendor, capability: r.capability });
        this.#lastAuditId = r.id;
      }
    };

    // Advanced by what the app host counted since the last scrape; the interface names are the
    // host's own (a fixed list, PROVIDED_INTERFACES), so the label set stays bounded.
    const exported = new Map<string, number>();
    new Counter({
      name: 'bulkhead_host_calls_total', help: 'calls guests made into each host interface, by vendor and interface (sampled every 2 s)',
      labelNames: ['vendor', 'interface'], registers,
      collect() {
        for (const c of hostCalls()) {
          const key = `${c.vendor}\0${c.interface}`;
          const delta = c.calls - (exported.get(key) ?? 0);
          if (delta > 0) this.inc({ vendor: c.vendor, interface: c.interface }, delta);
          exported.set(key, Math.max(c.calls, exported.get(key) ?? 0));
        }
      },
    });

    new Gauge({
      name: 'bulkhead_app_state', help: '1 for the actual state each app is in, 0 for the others', labelNames: ['app', 'state'], registers,
      collect() {
        this.reset();
        for (const a of records.apps()) for (const s of APP_STATES) this.set({ app: a.appId, state: s }, a.actual === s ? 1 : 0);
      },
    });
    new Gauge({
      name: 'bulkhead_app_desired_running', help: '1 when the operator wants the app running', labelNames: ['app'], registers,
      collect() {
        this.reset();
        for (const a of records.apps()) this.set({ app: a.appId }, a.desired === 'running' ? 1 : 0);
      },
    });
    const sandboxGauge = (name: string, help: string, value: (s: ReturnType<AppRecords['sandboxes']>[number]) => number) => new Gauge({
      name, help, labelNames: ['vendor'], registers,
      collect() {
        this.reset();
        for (const s of records.sandboxes()) this.set({ vendor: s.vendor }, s.state === 'running' ? value(s) : 0);
      },
    });
    sandboxGauge('bulkhead_sandbox_instances', 'instances running in the vendor sandbox', (s) => s.instances);
    sandboxGauge('bulkhead_sandbox_memory_bytes', 'memory of the vendor sandbox (heap and external), sampled every 2 s', (s) => s.memoryBytes);
    sandboxGauge('bulkhead_sandbox_cpu_seconds', 'guest CPU time used by the current vendor sandbox since it started (resets when it restarts)', (s) => s.cpuMs / 1000);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
