// Data dirs made before vendor names were hashed keep each vendor's files under
// `vendors/<old slug>` (e.g. "m-ller-automation", shared by "Möller" and "Müller Automation").
// When a data dir is opened, each such directory is renamed to its vendor's new name, provided
// exactly one configured vendor (policy, trust store or installed package) maps to it. If two do,
// nothing at all is moved and the operator is told which vendors and what to do: guessing would
// hand one vendor's files to the other. The migration is recorded in the state DB and runs once.
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { InstalledPackages } from '../../packages/install/installed-packages.js';
import { TrustStore } from '../../packages/trust/trust-store.js';
import { vendorId, type VendorId } from '../../packages/trust/vendor-id.js';
import type { DevicePolicy } from './device-policy.js';
import { legacyVendorDirName, vendorDirName } from './vendor-names.js';

const MIGRATION = 'vendor-roots-hashed-names';

export class VendorRootMigrationError extends Error {}

export interface MigrationResult { moved: { vendor: VendorId; from: string; to: string }[]; alreadyDone: boolean }

/** Every vendor the device knows of whose data root is the default one (no `dataRoot` override). */
export function configuredVendors(db: Database.Database, policy: DevicePolicy, dataDir: string): VendorId[] {
  const names = new Set<string>([
    ...Object.keys(policy.vendors),
    ...new TrustStore(db).list().map((k) => k.vendor),
    ...new InstalledPackages(db, dataDir).list().map((p) => p.vendor),
  ]);
  return [...names].filter((n) => n.trim() && !policy.vendors[n]?.dataRoot).map(vendorId).sort();
}

function recorded(db: Database.Database): boolean {
  db.exec('CREATE TABLE IF NOT EXISTS data_dir_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  return db.prepare('SELECT 1 FROM data_dir_migrations WHERE name = ?').get(MIGRATION) !== undefined;
}

export function migrateVendorRoots(dataDir: string, db: Database.Database, vendors: readonly VendorId[]): MigrationResult {
  // The short hash makes a collision unlikely, not impossible: two known vendors never share a root.
  const byName = new Map<string, VendorId>();
  for (const v of vendors) {
    const other = byName.get(vendorDirName(v));
    if (other !== undefined) throw new VendorRootMigrationError(`vendors ${JSON.stringify(other)} and ${JSON.stringify(v)} would share the data root vendors/${vendorDirName(v)}; give one of them a dataRoot of its own in policy.yaml`);
    byName.set(vendorDirName(v), v);
  }
  if (recorded(db)) return { moved: [], alreadyDone: true };
  const vendorsDir = path.join(dataDir, 'vendors');
  const byLegacyName = new Map<string, VendorId[]>();
  for (const v of vendors) byLegacyName.set(legacyVendorDirName(v), [...(byLegacyName.get(legacyVendorDirName(v)) ?? []), v]);
  const present = fs.existsSync(vendorsDir) ? fs.readdirSync(vendorsDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : [];
  const plan: MigrationResult['moved'] = [];
  const problems: string[] = [];
  for (const name of present.sort()) {
    const owners = byLegacyName.get(name) ?? [];
    if (owners.length === 0) continue; // a new-style root, or no vendor claims it: left as it is
    const from = path.join(vendorsDir, name);
    if (owners.length > 1) {
      problems.push(`${from} could belong to ${owners.map((o) => JSON.stringify(o)).join(' or ')}; move it by hand to ${owners.map((o) => `vendors/${vendorDirName(o)}`).join(' or ')} (whichever vendor owns it)`);
      continue;
    }
    const to = path.join(vendorsDir, vendorDirName(owners[0]!));
    if (fs.existsSync(to)) {
      problems.push(`${from} (${JSON.stringify(owners[0])}) cannot be moved: ${to} exists too; merge them by hand`);
      continue;
    }
    plan.push({ vendor: owners[0]!, from, to });
  }
  if (problems.length) {
    throw new VendorRootMigrationError(`vendor data roots need a decision (nothing was moved):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  for (const m of plan) fs.renameSync(m.from, m.to);
  db.prepare('INSERT INTO data_dir_migrations (name, applied_at) VALUES (?, ?)').run(MIGRATION, new Date().toISOString());
  return { moved: plan, alreadyDone: false };
}
