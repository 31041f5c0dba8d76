// What the device knows about its wasm apps, in the state database: desired and actual state per
// app, per-instance state, app logs and audit events. The daemon writes actual state; the CLI
// writes desired state and reads the rest, so the two never contend for the same rows.
//
// Actual state belongs to a daemon run (`daemon_runs`): every live row (an app running or
// starting, an instance, a sandbox) carries the run that wrote it, and a reader that knows which
// run is alive (see liveRun) never presents a dead daemon's rows as live, even after a kill -9.
import type Database from 'better-sqlite3';

export type DesiredState = 'running' | 'stopped';
export type ActualState = 'starting' | 'running' | 'completed' | 'failed' | 'stopped';

export interface AppRow {
  appId: string;
  desired: DesiredState;
  actual: ActualState;
  reason: string | null;
  parameters: Record<string, string>;
  /** Bumped by every `start`; the daemon records which one it acted on. */
  generation: number;
  startedGeneration: number | null;
  updatedAt: string;
}

export interface InstanceRow {
  instanceId: string;
  appId: string;
  component: string;
  vendor: string;
  /** job (runs to completion) or service (runs until stopped); null until it has started */
  role: string | null;
  state: string;
  exitCode: number | null;
  reason: string | null;
  updatedAt: string;
}

export interface SandboxRow { vendor: string; state: 'running' | 'stopped'; instances: number; cpuMs: number; memoryBytes: number; reason: string | null; updatedAt: string }

export interface LogRow { id: number; appId: string; component: string; at: string; level: string; message: string; fields: Record<string, string> }
export interface AuditRow { id: number; at: string; vendor: string; appId: string; component: string; capability: string; attempted: string; reason: string }

const iso = (ms = Date.now()) => new Date(ms).toISOString();

export class AppRecords {
  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS wasm_apps (
        app_id TEXT PRIMARY KEY, desired TEXT NOT NULL, actual TEXT NOT NULL, reason TEXT,
        parameters TEXT NOT NULL DEFAULT '{}', generation INTEGER NOT NULL DEFAULT 0,
        started_generation INTEGER, updated_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS wasm_instances (
        instance_id TEXT PRIMARY KEY, app_id TEXT NOT NULL, component TEXT NOT NULL, vendor TEXT NOT NULL,
        role TEXT, state TEXT NOT NULL, exit_code INTEGER, reason TEXT, updated_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS app_logs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, app_id TEXT NOT NULL, component TEXT NOT NULL, at TEXT NOT NULL,
        level TEXT NOT NULL, message TEXT NOT NULL, fields TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS app_logs_by_app ON app_logs (app_id, id);
      CREATE TABLE IF NOT EXISTS vendor_sandboxes (
        vendor TEXT PRIMARY KEY, state TEXT NOT NULL, instances INTEGER NOT NULL, cpu_ms REAL NOT NULL,
        memory_bytes INTEGER NOT NULL, reason TEXT, updated_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS daemon_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, pid INTEGER NOT NULL, started_at TEXT NOT NULL, ended_at TEXT);
      CREATE TABLE IF NOT EXISTS desired_changes (id INTEGER PRIMARY KEY CHECK (id = 1), counter INTEGER NOT NULL);
      INSERT OR IGNORE INTO desired_changes (id, counter) VALUES (1, 0);
      CREATE TABLE IF NOT EXISTS audit_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, vendor TEXT NOT NULL, app_id TEXT NOT NULL,
        component TEXT NOT NULL, capability TEXT NOT NULL, attempted TEXT NOT NULL, reason TEXT NOT NULL);
    `);
    // Databases from before daemon runs were recorded get the column (NULL: no live run).
    for (const table of ['wasm_apps', 'wasm_instances', 'vendor_sandboxes']) {
      const columns = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
      if (!columns.some((c) => c.name === 'daemon_run')) db.exec(`ALTER TABLE ${table} ADD COLUMN daemon_run INTEGER`);
    }
    countRowsPerVendor(db);
  }

  /** The daemon run whose writes these are (set by the daemon; null in the CLI). */
  run: number | null = null;

  // ---- daemon runs ----
  /** Records a new daemon run; every earlier run has ended (the caller holds the daemon lock). */
  beginRun(pid: number): number {
    return this.db.transaction(() => {
      this.db.prepare('UPDATE daemon_runs SET ended_at = ? WHERE ended_at IS NULL').run(iso());
      const id = Number(this.db.prepare('INSERT INTO daemon_runs (pid, started_at) VALUES (?, ?)').run(pid, iso()).lastInsertRowid);
      this.run = id;
      return id;
    })();
  }

  endRun(): void {
    if (this.run !== null) this.db.prepare('UPDATE daemon_runs SET ended_at = ? WHERE id = ?').run(iso(), this.run);
  }

  /** The run of the daemon with this pid, if it is the latest and has not ended. */
  liveRun(daemonPid: number | undefined): number | null {
    if (daemonPid === undefined) return null;
    const r = this.db.prepare('SELECT id, pid FROM daemon_runs WHERE ended_at IS NULL ORDER BY id DESC LIMIT 1').get() as { id: number; pid: number } | undefined;
    return r && r.pid === daemonPid ? r.id : null;
  }

  /** Bumped by every change of desired state: the daemon reconciles when it moves. */
  desiredVersion(): number {
    return (this.db.prepare('SELECT counter FROM desired_changes WHERE id = 1').get() as { counter: number }).counter;
  }

  /** Runs `fn` in one read transaction: everything it reads is from the same moment. */
  snapshot<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // ---- desired state (CLI) ----
  /** Records what the operator wants; returns the app's new generation. */
  setDesired(appId: string, desired: DesiredState, parameters?: Record<string, string>): number {
    const bump = desired === 'running' ? 1 : 0;
    return this.db.transaction(() => {
    this.db.prepare('UPDATE desired_changes SET counter = counter + 1 WHERE id = 1').run();
    this.db.prepare(`INSERT INTO wasm_apps (app_id, desired, actual, parameters, generation, updated_at) VALUES (@app, @desired, 'stopped', @params, @bump, @now)
      ON CONFLICT(app_id) DO UPDATE SET desired = excluded.desired, updated_at = excluded.updated_at,
      generation = generation + @bump, parameters = CASE WHEN @keep THEN parameters ELSE excluded.parameters END`)
      .run({ app: appId, desired, params: JSON.stringify(parameters ?? {}), bump, now: iso(), keep: parameters ? 0 : 1 });
    return this.app(appId)!.generation;
    })();
  }

  /**
   * The daemon acts on this generation of the app's desired state; with `starting`, the app's
   * actual state becomes "starting" in the same write, so a reader never sees the new generation
   * next to the previous run's outcome.
   */
  markStarted(appId: string, generation: number | null, starting = false): void {
    this.db.prepare(`UPDATE wasm_apps SET started_generation = ?, actual = CASE WHEN ? THEN 'starting' ELSE actual END,
      reason = CASE WHEN ? THEN NULL ELSE reason END, daemon_run = ?, updated_at = ? WHERE app_id = ?`).run(generation, starting ? 1 : 0, starting ? 1 : 0, this.run, iso(), appId);
  }

  /** Makes sure the app has a row (an app started directly, without `bulkhead start`). */
  ensure(appId: string): void {
    this.db.prepare(`INSERT INTO wasm_apps (app_id, desired, actual, updated_at) VALUES (?, 'running', 'stopped', ?)
      ON CONFLICT(app_id) DO NOTHING`).run(appId, iso());
  }

  // ---- actual state (daemon) ----
  setActual(appId: string, actual: ActualState, reason: string | null = null): void {
    this.db.prepare('UPDATE wasm_apps SET actual = ?, reason = ?, daemon_run = ?, updated_at = ? WHERE app_id = ?').run(actual, reason, this.run, iso(), appId);
  }

  /** The app; with `live` (the live daemon run, or null when none runs), as that daemon sees it. */
  app(appId: string, live?: LiveView): AppRow | undefined {
    const r = this.db.prepare('SELECT * FROM wasm_apps WHERE app_id = ?').get(appId) as Record<string, string> | undefined;
    return r ? asLive(toApp(r), r, live) : undefined;
  }

  apps(live?: LiveView): AppRow[] {
    return (this.db.prepare('SELECT * FROM wasm_apps ORDER BY app_id').all() as Record<string, string>[]).map((r) => asLive(toApp(r), r, live));
  }

  /**
   * Rewrites what a dead daemon left live: apps running or starting, their instances and the
   * vendor sandboxes are stopped, saying so. The daemon calls this at start, under its lock.
   */
  settleDeadRuns(): string[] {
    const reason = 'its daemon ended without stopping it (killed or crashed)';
    return this.db.transaction(() => {
      const apps = (this.db.prepare(`SELECT app_id FROM wasm_apps WHERE actual IN ('running', 'starting')
        AND (daemon_run IS NULL OR daemon_run IS NOT ?)`).all(this.run) as { app_id: string }[]).map((r) => r.app_id);
      this.db.prepare(`UPDATE wasm_instances SET state = 'stopped', reason = ?, updated_at = ? WHERE state IN ('running', 'starting')
        AND (daemon_run IS NULL OR daemon_run IS NOT ?)`).run(reason, iso(), this.run);
      this.db.prepare(`UPDATE vendor_sandboxes SET state = 'stopped', instances = 0, memory_bytes = 0, reason = ?, updated_at = ?
        WHERE state = 'running' AND (daemon_run IS NULL OR daemon_run IS NOT ?)`).run(reason, iso(), this.run);
      return apps;
    })();
  }

  upsertInstance(i: Omit<InstanceRow, 'updatedAt'>): void {
    this.db.prepare(`INSERT INTO wasm_instances (instance_id, app_id, component, vendor, role, state, exit_code, reason, daemon_run, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(instance_id) DO UPDATE SET state = excluded.state, role = excluded.role,
      exit_code = excluded.exit_code, reason = excluded.reason, daemon_run = excluded.daemon_run, updated_at = excluded.updated_at`)
      .run(i.instanceId, i.appId, i.component, i.vendor, i.role, i.state, i.exitCode, i.reason, this.run, iso());
  }

  /** Instances of the app's latest start (instance ids are `<app>/<component>#<start>`); `live` as for app(). */
  instances(appId: string, live?: LiveView): InstanceRow[] {
    return (this.db.prepare('SELECT * FROM wasm_instances WHERE app_id = ? ORDER BY updated_at DESC, component').all(appId) as Record<string, string & number>[])
      .map((r) => {
        const row: InstanceRow = { instanceId: r.instance_id, appId: r.app_id, component: r.component, vendor: r.vendor, role: r.role, state: r.state, exitCode: r.exit_code, reason: r.reason, updatedAt: r.updated_at };
        return live && (row.state === 'running' || row.state === 'starting') && r.daemon_run !== live.run ? { ...row, state: 'stopped', reason: DEAD_DAEMON } : row;
      });
  }

  /** Forgets an uninstalled app's desired and actual state (its logs and audit events stay). */
  forget(appId: string): void {
    this.db.prepare('DELETE FROM wasm_instances WHERE app_id = ?').run(appId);
    this.db.prepare('DELETE FROM wasm_apps WHERE app_id = ?').run(appId);
  }

  clearInstances(appId: string): void {
    this.db.prepare('DELETE FROM wasm_instances WHERE app_id = ?').run(appId);
  }

  // ---- vendor sandboxes (daemon) ----
  upsertSandbox(s: Omit<SandboxRow, 'updatedAt'>): void {
    this.db.prepare(`INSERT INTO vendor_sandboxes (vendor, state, instances, cpu_ms, memory_bytes, reason, daemon_run, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(vendor) DO UPDATE SET state = excluded.state, instances = excluded.instances, cpu_ms = excluded.cpu_ms,
      memory_bytes = excluded.memory_bytes, reason = excluded.reason, daemon_run = excluded.daemon_run, updated_at = excluded.updated_at`)
      .run(s.vendor, s.state, s.instances, s.cpuMs, s.memoryBytes, s.reason, this.run, iso());
  }

  sandboxes(live?: LiveView): SandboxRow[] {
    return (this.db.prepare('SELECT * FROM vendor_sandboxes ORDER BY vendor').all() as Record<string, string & number>[])
      .map((r) => {
        const row: SandboxRow = { vendor: r.vendor, state: r.state as SandboxRow['state'], instances: r.instances, cpuMs: r.cpu_ms, memoryBytes: r.memory_bytes, reason: r.reason, updatedAt: r.updated_at };
        return live && row.state === 'running' && r.daemon_run !== live.run ? { ...row, state: 'stopped', instances: 0, memoryBytes: 0, reason: DEAD_DAEMON } : row;
      });
  }

  // ---- logs and audit ----
  /** `vendor`: whose quota of rows they count against (record-retention.ts); '' the device's own. */
  addLogs(rows: (Omit<LogRow, 'id'> & { vendor?: string })[]): void {
    const insert = this.db.prepare('INSERT INTO app_logs (app_id, component, at, level, message, fields, vendor) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => { for (const r of rows) insert.run(r.appId, r.component, r.at, r.level, r.message, JSON.stringify(r.fields), r.vendor ?? ''); })();
  }

  logs(appId: string, options: { tail?: number; afterId?: number } = {}): LogRow[] {
    const rows = this.db.prepare(`SELECT * FROM (SELECT * FROM app_logs WHERE app_id = ? AND id > ? ORDER BY id DESC LIMIT ?) ORDER BY id`)
      .all(appId, options.afterId ?? 0, options.tail ?? -1) as Record<string, string & number>[];
    return rows.map((r) => ({ id: r.id, appId: r.app_id, component: r.component, at: r.at, level: r.level, message: r.message, fields: JSON.parse(r.fields) }));
  }

  #insertAudit: Database.Statement | undefined;
  addAudit(e: Omit<AuditRow, 'id'>): void {
    // Prepared once: a flush writes up to 500 rows, each also counted by a trigger.
    this.#insertAudit ??= this.db.prepare('INSERT INTO audit_events (at, vendor, app_id, component, capability, attempted, reason) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.#insertAudit.run(e.at, e.vendor, e.appId, e.component, e.capability, e.attempted, e.reason);
  }

  audit(filter: { vendor?: string; appId?: string; tail?: number } = {}): AuditRow[] {
    const rows = this.db.prepare(`SELECT * FROM (SELECT * FROM audit_events WHERE (@vendor IS NULL OR vendor = @vendor)
      AND (@app IS NULL OR app_id = @app) ORDER BY id DESC LIMIT @tail) ORDER BY id`)
      .all({ vendor: filter.vendor ?? null, app: filter.appId ?? null, tail: filter.tail ?? -1 }) as Record<string, string & number>[];
    return rows.map((r) => ({ id: r.id, at: r.at, vendor: r.vendor, appId: r.app_id, component: r.component, capability: r.capability, attempted: r.attempted, reason: r.reason }));
  }
}

/**
 * Log and audit rows are kept per vendor (record-retention.ts), so each row names its vendor ('' for
 * the device's own), an index on (vendor, id) finds a vendor's oldest rows, and triggers keep a count
 * of rows per table and vendor in the same transaction as every insert and delete, so pruning knows
 * who is over quota without counting. Databases from before get the column (their log rows count
 * as the device's), the index and the counts once.
 */
function countRowsPerVendor(db: Database.Database): void {
  db.transaction(() => {
    const logColumns = db.prepare('PRAGMA table_info(app_logs)').all() as { name: string }[];
    if (!logColumns.some((c) => c.name === 'vendor')) db.exec("ALTER TABLE app_logs ADD COLUMN vendor TEXT NOT NULL DEFAULT ''");
    const fresh = !db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'record_counts'").get();
    db.exec(`
      CREATE INDEX IF NOT EXISTS app_logs_by_vendor ON app_logs (vendor, id);
      CREATE INDEX IF NOT EXISTS audit_events_by_vendor ON audit_events (vendor, id);
      CREATE TABLE IF NOT EXISTS record_counts (tbl TEXT NOT NULL, vendor TEXT NOT NULL, rows INTEGER NOT NULL, PRIMARY KEY (tbl, vendor)) WITHOUT ROWID;`);
    for (const table of ['app_logs', 'audit_events']) {
      db.exec(`
        CREATE TRIGGER IF NOT EXISTS ${table}_counted AFTER INSERT ON ${table} BEGIN
          INSERT INTO record_counts (tbl, vendor, rows) VALUES ('${table}', NEW.vendor, 1)
            ON CONFLICT (tbl, vendor) DO UPDATE SET rows = rows + 1;
        END;
        CREATE TRIGGER IF NOT EXISTS ${table}_uncounted AFTER DELETE ON ${table} BEGIN
          UPDATE record_counts SET rows = rows - 1 WHERE tbl = '${table}' AND vendor = OLD.vendor;
        END;`);
      if (fresh) db.exec(`INSERT INTO record_counts (tbl, vendor, rows) SELECT '${table}', vendor, COUNT(*) FROM ${table} GROUP BY vendor`);
    }
  }).immediate(); // two processes opening the database at once: one adds, the other sees it added
}

/** Which daemon run is alive (null: none); rows of any other run are not presented as live. */
export interface LiveView { run: number | null }

const DEAD_DAEMON = 'its daemon ended without stopping it (killed or crashed)';

function asLive(row: AppRow, raw: Record<string, string | number>, live: LiveView | undefined): AppRow {
  if (!live || (row.actual !== 'running' && row.actual !== 'starting')) return row;
  return raw.daemon_run === live.run ? row : { ...row, actual: 'stopped', reason: DEAD_DAEMON };
}

function toApp(r: Record<string, string>): AppRow {
  return {
    appId: r.app_id!, desired: r.desired as DesiredState, actual: r.actual as ActualState, reason: r.reason ?? null,
    parameters: JSON.parse(r.parameters ?? '{}'), generation: Number(r.generation), startedGeneration: r.started_generation == null ? null : Number(r.started_generation),
    updatedAt: r.updated_at!,
  };
}

export { iso as isoTime };
