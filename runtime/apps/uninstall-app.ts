// Uninstalling an app: refused while it runs (desired or actual), else one transaction forgets the
// installed package and the app's state and schedules its store directory for removal, which
// happens after the commit (see packages/install/store-removals.ts for the crash-safe order).
import type Database from 'better-sqlite3';
import type { InstalledPackage, InstalledPackages } from '../../packages/install/installed-packages.js';
import { StoreRemovals } from '../../packages/install/store-removals.js';
import { AppRecords } from './app-records.js';

export class UninstallError extends Error {
  constructor(message: string, readonly reason: 'not-installed' | 'running') {
    super(message);
  }
}

export interface UninstallResult { removed: InstalledPackage; storeRemoved: boolean }

export function uninstallApp(db: Database.Database, dataDir: string, installed: InstalledPackages, appId: string): UninstallResult {
  const records = new AppRecords(db);
  const removals = new StoreRemovals(db, dataDir);
  // IMMEDIATE: the check and the delete hold the write lock together, so no `start` slips between.
  const result = db.transaction((): UninstallResult => {
    const pkg = installed.get(appId);
    if (!pkg) {
      const known = installed.list().map((p) => p.appId);
      throw new UninstallError(`${appId} is not installed (installed: ${known.join(', ') || 'none'})`, 'not-installed');
    }
    const app = records.app(appId);
    if (app && (app.desired === 'running' || app.actual === 'running' || app.actual === 'starting')) {
      const state = app.actual === 'running' || app.actual === 'starting' ? `it is ${app.actual}` : `it is started (desired state: running, actual: ${app.actual})`;
      throw new UninstallError(`${appId} cannot be uninstalled while ${state}; stop it first (bulkhead stop ${appId})`, 'running');
    }
    installed.remove(appId);
    records.forget(appId);
    return { removed: pkg, storeRemoved: removals.schedule(pkg.path) };
  }).immediate();
  removals.finish();
  return result;
}
