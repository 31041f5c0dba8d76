// What the package/trust/install verbs share: the data dir, its database and stores, the policy.
import type Database from 'better-sqlite3';
import type { Command } from 'commander';
import { InstalledPackages } from '../../packages/install/installed-packages.js';
import { TrustStore } from '../../packages/trust/trust-store.js';
import { defaultDataDir } from '../state/data-dir.js';
import { loadDevicePolicy, PolicyError, type DevicePolicy } from '../state/device-policy.js';
import { openStateDb } from '../state/state-db.js';
import { configuredVendors, migrateVendorRoots, VendorRootMigrationError } from '../state/vendor-root-migration.js';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';

export interface DeviceContext {
  dataDir: string;
  db: Database.Database;
  trust: TrustStore;
  installed: InstalledPackages;
  policy: DevicePolicy;
  close(): void;
}

export function openDevice(command: Command): DeviceContext {
  const { dataDir: flag } = command.optsWithGlobals() as { dataDir?: string };
  const dataDir = flag ?? defaultDataDir();
  let db: Database.Database;
  try {
    db = openStateDb(dataDir);
  } catch (err) {
    throw new CliError(`cannot open the state database in ${dataDir}: ${(err as Error).message}`, ExitCode.FAILURE);
  }
  let policy: DevicePolicy;
  try {
    policy = loadDevicePolicy(dataDir);
  } catch (err) {
    db.close();
    if (err instanceof PolicyError) throw new CliError(err.message, ExitCode.BAD_INPUT);
    throw err;
  }
  const trust = new TrustStore(db);
  const installed = new InstalledPackages(db, dataDir);
  try {
    const { moved } = migrateVendorRoots(dataDir, db, configuredVendors(db, policy, dataDir));
    for (const m of moved) process.stderr.write(`bulkhead: moved ${m.vendor}'s data root ${m.from} to ${m.to}\n`);
  } catch (err) {
    db.close();
    if (err instanceof VendorRootMigrationError) throw new CliError(err.message, ExitCode.FAILURE);
    throw err;
  }
  return { dataDir, db, trust, installed, policy, close: () => db.close() };
}

/** Runs `fn` with an open device context and always closes the database. */
export async function withDevice<T>(command: Command, fn: (ctx: DeviceContext) => Promise<T> | T): Promise<T> {
  const ctx = openDevice(command);
  try {
    return await fn(ctx);
  } finally {
    ctx.close();
  }
}
