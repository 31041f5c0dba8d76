// The device daemon: one process per data dir that runs the wasm apps whose desired state is
// "running". The CLI only writes desired state to the database; the daemon notices (SQLite's
// data_version changes on every commit by another connection) and reconciles. It is idempotent,
// and after a crash the next daemon restarts what was running; finished jobs are not re-run.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InstalledPackages } from '../../packages/install/installed-packages.js';
import { cleanStaleStaging } from '../../packages/install/staging-area.js';
import { loadDevicePolicy } from '../state/device-policy.js';
import { openStateDb } from '../state/state-db.js';
import { configuredVendors, migrateVendorRoots } from '../state/vendor-root-migration.js';
import type { ManagementApi, ManagementApiOptions } from '../api/management-api.js';
import { AppHost, type AppHostOptions } from './app-host.js';

const PID_FILE = 'daemon.pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of the data dir's running daemon, if one runs. */
export function daemonPid(dataDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, PID_FILE), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export class DaemonRunningError extends Error {}

/** Takes the data dir's daemon lock (a pid file created exclusively; a stale one is replaced). */
function lock(dataDir: string): () => void {
  const file = path.join(dataDir, PID_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      return () => {
        try {
          if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
        } catch { /* already gone */ }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = daemonPid(dataDir);
      if (pid !== undefined) throw new DaemonRunningError(`a daemon already runs for ${dataDir} (pid ${pid})`);
      fs.rmSync(file, { force: true });
    }
  }
  throw new DaemonRunningError(`could not take the daemon lock ${file}`);
}

export interface DaemonOptions {
  dataDir: string;
  /** One line per notable event (the daemon's own log). */
  say?: (line: string) => void;
  onEvent?: AppHostOptions['onEvent'];
  pollMs?: number;
  /** The management API's listeners and limits (the unix socket is always served). */
  api?: Omit<ManagementApiOptions, 'dataDir' | 'say'>;
}

/** Runs until `signal` aborts; then stops every app it runs and releases the lock. */
export async function runDaemon(options: DaemonOptions, signal: AbortSignal): Promise<void> {
  const { dataDir } = options;
  const say = options.say ?? (() => {});
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const unlock = lock(dataDir);
  const db = openStateDb(dataDir);
  try {
    // Before any app runs: data roots of the old layout move to their vendor's injective name.
    // (An unreadable policy is reported per app start, as before; the CLI that started us migrated.)
    const policy = (() => { try { return loadDevicePolicy(dataDir); } catch { return undefined; } })();
    if (policy) for (const m of migrateVendorRoots(dataDir, db, configuredVendors(db, policy, dataDir)).moved) say(`moved ${m.vendor}'s data root ${m.from} to ${m.to}`);
  } catch (err) {
    db.close();
    unlock();
    throw err;
  }
  const host = new AppHost({ dataDir, db, policy: () => loadDevicePolicy(dataDir), onEvent: options.onEvent });
  const installed = new InstalledPackages(db, dataDir);
  // Staging debris of installs killed before this start (issue 11); live installs are left alone.
  cleanStaleStaging(dataDir);
  let api: ManagementApi | undefined;
  try {
    // Whatever a previous daemon left "running" is not running now: start it again.
    for (const app of host.records.apps()) {
      if (app.actual === 'running' || app.actual === 'starting') {
        host.records.setActual(app.appId, 'stopped', 'the daemon restarted');
        host.records.markStarted(app.appId, null);
      }
    }
    // Loaded here, not at the top: CLI verbs that only check on the daemon must not load fastify.
    const { startManagementApi } = await import('../api/management-api.js');
    api = await startManagementApi({ dataDir, say, ...options.api });
    say(`daemon ${process.pid} serving ${dataDir}`);
    let lastVersion = -1;
    while (!signal.aborted) {
      const version = db.pragma('data_version', { simple: true }) as number;
      if (version !== lastVersion) {
        lastVersion = version;
        await reconcile(host, installed, say);
        lastVersion = db.pragma('data_version', { simple: true }) as number;
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
    }
  } finally {
    say('daemon stopping');
    await api?.close();
    const running = host.runningApps;
    await host.close();
    for (const appId of running) host.records.markStarted(appId, null);
    db.close();
    unlock();
  }
}

async function reconcile(host: AppHost, installed: InstalledPackages, say: (line: string) => void): Promise<void> {
  for (const app of host.records.apps()) {
    const running = host.runningApps.includes(app.appId);
    if (app.desired === 'stopped' && running) {
      say(`stopping ${app.appId}`);
      await host.stop(app.appId);
    } else if (app.desired === 'running' && app.startedGeneration !== app.generation) {
      host.records.markStarted(app.appId, app.generation, !running);
      if (running) continue; // already running: a repeated start changes nothing
      const pkg = installed.get(app.appId);
      if (!pkg) {
        host.records.setActual(app.appId, 'failed', `${app.appId} is not installed`);
        continue;
      }
      say(`starting ${app.appId} ${pkg.version}`);
      try {
        const state = await host.start(pkg, app.parameters);
        say(`${app.appId}: ${state}`);
      } catch (err) {
        const reason = (err as Error).message.split('\n').join(' ');
        host.records.setActual(app.appId, 'failed', reason);
        say(`${app.appId}: failed: ${reason}`);
      }
    }
  }
}

/** bin/bulkhead.js of this installation. */
function binPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'bin', 'bulkhead.js');
    if (fs.existsSync(candidate)) return candidate;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find bin/bulkhead.js to start the daemon');
    dir = up;
  }
}

/** Starts a detached daemon for the data dir (its log: <data-dir>/daemon.log) and waits for its lock. */
export async function spawnDaemon(dataDir: string): Promise<number> {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const log = fs.openSync(path.join(dataDir, 'daemon.log'), 'a');
  const child = spawn(process.execPath, [binPath(), '--data-dir', dataDir, 'daemon'], { detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  child.unref();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const pid = daemonPid(dataDir);
    if (pid !== undefined) return pid;
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the daemon did not start; see ${path.join(dataDir, 'daemon.log')}`);
}
