// The device daemon: one process per data dir that runs the wasm apps whose desired state is
// "running". The CLI only writes desired state to the database; the daemon notices (SQLite's
// desired-state counter moves with every change) and reconciles, one queue per vendor. It is
// idempotent; after a crash the next daemon restarts what was running (finished jobs are not
// re-run, an app whose start took the daemon down is quarantined: see crash-guard.ts).
import { sleepUnlessAborted } from './abortable-sleep.js';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InstalledPackages } from '../../packages/install/installed-packages.js';
import { cleanStaleStaging } from '../../packages/install/staging-area.js';
import { loadDevicePolicy } from '../state/device-policy.js';
import { ensureDataDir } from '../state/data-dir.js';
import { openStateDb } from '../state/state-db.js';
import { configuredVendors, migrateVendorRoots } from '../state/vendor-root-migration.js';
import type { ManagementApi, ManagementApiOptions } from '../api/management-api.js';
import { AppHost, type AppHostOptions } from './app-host.js';
import { CrashGuard } from './crash-guard.js';
import { crashPoint } from './crash-points.js';
import { daemonPid, holdDaemonLock } from './daemon-lock.js';
import { Reconciler } from './reconciler.js';
import type { FleetSupervisorOptions } from '../fleet/fleet-supervisor.js';

export { daemonPid, DaemonRunningError } from './daemon-lock.js';

export interface DaemonOptions {
  dataDir: string;
  /** One line per notable event (the daemon's own log). */
  say?: (line: string) => void;
  onEvent?: AppHostOptions['onEvent'];
  pollMs?: number;
  /** The management API's listeners and limits (the unix socket is always served). */
  api?: Omit<ManagementApiOptions, 'dataDir' | 'say'>;
  /** The Margo fleet link's settings (tests: shorter intervals); it runs while the device is joined. */
  fleet?: Omit<FleetSupervisorOptions, 'dataDir' | 'db' | 'say'>;
}

/** Runs until `signal` aborts; then stops every app it runs and releases the lock. */
export async function runDaemon(options: DaemonOptions, signal: AbortSignal): Promise<void> {
  const { dataDir } = options;
  const say = options.say ?? (() => {});
  ensureDataDir(dataDir);
  const unlock = holdDaemonLock(dataDir);
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
  let reconciler: Reconciler | undefined;
  const host = new AppHost({
    dataDir, db, policy: () => loadDevicePolicy(dataDir), onEvent: options.onEvent,
    onSandboxLost: (loss) => reconciler?.sandboxLost(loss),
  });
  const installed = new InstalledPackages(db, dataDir);
  // Staging debris of installs killed before this start (issue 11); live installs are left alone.
  cleanStaleStaging(dataDir);
  let api: ManagementApi | undefined;
  const fleetStop = new AbortController();
  let fleet: Promise<void> | undefined;
  let isolation: Promise<void> | undefined;
  try {
    // Every earlier run is over (this process holds the lock): what it left live is not, and a
    // start it left unfinished took it down.
    const run = host.records.beginRun(process.pid);
    const guard = new CrashGuard(db, run);
    for (const appId of guard.collectDeadStarts()) say(`${appId}: the previous daemon died while starting it`);
    for (const appId of host.records.settleDeadRuns()) {
      host.records.setActual(appId, 'stopped', 'the daemon restarted');
      host.records.markStarted(appId, null);
    }
    reconciler = new Reconciler(host, installed, guard, say);
    // Loaded here, not at the top: CLI verbs that only check on the daemon must not load fastify.
    const { startManagementApi } = await import('../api/management-api.js');
    api = await startManagementApi({ dataDir, say, hostCalls: () => host.hostCalls(), ...options.api });
    say(`daemon ${process.pid} serving ${dataDir} (run ${run})`);
    // The Margo fleet link runs beside the reconcile loop while the device is joined (fleet join).
    const { superviseFleet } = await import('../fleet/fleet-supervisor.js');
    const { daemonDeploymentApplier } = await import('../fleet/fleet-applier.js');
    const { reportedFacts } = await import('../fleet/device-facts.js');
    fleet = superviseFleet({
      dataDir, db, say,
      // Deployments are checked against the facts the link reports as capabilities.
      createApplier: () => daemonDeploymentApplier({ dataDir, db, say, facts: () => reportedFacts(db, dataDir) }),
      ...options.fleet,
    }, fleetStop.signal);
    // Containers the engine runs without an `up` (restarts after a reboot) stay apart too.
    const { superviseNetworkIsolation } = await import('./network-isolation-keeper.js');
    isolation = superviseNetworkIsolation(say, fleetStop.signal);
    // A counter bumped in the same transaction as every desired-state change: it is read before a
    // pass, so a commit made while the pass runs moves it again and is seen by the next one.
    let seen = -1;
    while (!signal.aborted) {
      const version = host.records.desiredVersion();
      if (version !== seen || reconciler.dirty) {
        seen = version;
        reconciler.dirty = false;
        reconciler.pass();
        crashPoint('reconciled');
      }
      await sleepUnlessAborted(options.pollMs ?? 100, signal);
    }
  } finally {
    say('daemon stopping');
    fleetStop.abort();
    await fleet;
    await isolation;
    await api?.close();
    await reconciler?.idle();
    const running = host.runningApps;
    await host.close();
    for (const appId of running) host.records.markStarted(appId, null);
    host.records.endRun();
    db.close();
    unlock();
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
  ensureDataDir(dataDir);
  const log = fs.openSync(path.join(dataDir, 'daemon.log'), 'a');
  const child = spawn(process.execPath, [binPath(), '--data-dir', dataDir, 'daemon'], { detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  child.unref();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const pid = daemonPid(dataDir);
    if (pid !== undefined) return pid;
    // It lost the lock to a daemon that another CLI started at the same moment: that one serves.
    if (child.exitCode !== null) return daemonPid(dataDir) ?? fail();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return fail();
  function fail(): never {
    throw new Error(`the daemon did not start; see ${path.join(dataDir, 'daemon.log')}`);
  }
}
