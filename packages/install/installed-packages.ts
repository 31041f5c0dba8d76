// Which application versions are installed, in the device's SQLite database, plus a history of
// every install, so an operator can see what changed and when, and which vendor owns each app id.
// Package paths are stored relative to the data dir (`packages/sha256-…`), so the same device opened
// through another spelling of its data dir (relative, absolute, a bind mount) still finds them.
import path from 'node:path';
import type Database from 'better-sqlite3';
import { checkAppOwnership, type AppOwner } from './app-ownership.js';

export interface InstalledPackage {
  appId: string;
  version: string;
  vendor: string;
  digest: string;
  /** Absolute path of the unpacked package (resolved against the data dir this store was opened with). */
  path: string;
  installedAt: string;
}

interface Row { app_id: string; version: string; vendor: string; digest: string; path: string; installed_at: string }
interface OwnerRow { app_id: string; vendor: string; since: string; transferred_from: string | null }

/** Where a package with this digest lives, relative to the data dir. */
export function storePathOf(digest: string): string {
  return `packages/${digest.replace(':', '-')}`;
}
const STORE_PATH_SQL = `'packages/' || replace(digest, ':', '-')`;

export class InstalledPackages {
  private readonly dataDir: string;

  constructor(private readonly db: Database.Database, dataDir: string) {
    this.dataDir = path.resolve(dataDir);
    db.exec(`CREATE TABLE IF NOT EXISTS installed_packages (
      app_id TEXT PRIMARY KEY, version TEXT NOT NULL, vendor TEXT NOT NULL, digest TEXT NOT NULL,
      path TEXT NOT NULL, installed_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS install_history (
      id INTEGER PRIMARY KEY AUTOINCREMENT, app_id TEXT NOT NULL, version TEXT NOT NULL, vendor TEXT NOT NULL,
      digest TEXT NOT NULL, signers TEXT NOT NULL, installed_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS app_owners (
      app_id TEXT PRIMARY KEY, vendor TEXT NOT NULL, since TEXT NOT NULL, transferred_from TEXT
    )`);
    this.migrate();
  }

  /**
   * Older databases stored absolute or cwd-relative paths, and had no owners: rewrite paths to the
   * data-dir-relative form (it follows from the digest), and give each app id to the vendor that
   * installed it first. Read-only checks first, so opening an up-to-date database writes nothing.
   */
  private migrate(): void {
    const stalePaths = this.db.prepare(`SELECT 1 FROM installed_packages WHERE path <> ${STORE_PATH_SQL} LIMIT 1`).get();
    const unowned = this.db.prepare('SELECT 1 FROM installed_packages p WHERE NOT EXISTS (SELECT 1 FROM app_owners o WHERE o.app_id = p.app_id) LIMIT 1').get();
    if (!stalePaths && !unowned) return;
    this.db.transaction(() => {
      this.db.exec(`UPDATE installed_packages SET path = ${STORE_PATH_SQL} WHERE path <> ${STORE_PATH_SQL}`);
      this.db.exec(`INSERT OR IGNORE INTO app_owners (app_id, vendor, since)
        SELECT h.app_id, h.vendor, h.installed_at FROM install_history h
        WHERE h.id = (SELECT MIN(id) FROM install_history WHERE app_id = h.app_id)`);
      this.db.exec('INSERT OR IGNORE INTO app_owners (app_id, vendor, since) SELECT app_id, vendor, installed_at FROM installed_packages');
    }).immediate();
  }

  private toPackage(r: Row): InstalledPackage {
    return { appId: r.app_id, version: r.version, vendor: r.vendor, digest: r.digest, path: path.join(this.dataDir, r.path), installedAt: r.installed_at };
  }

  get(appId: string): InstalledPackage | undefined {
    const row = this.db.prepare('SELECT * FROM installed_packages WHERE app_id = ?').get(appId) as Row | undefined;
    return row ? this.toPackage(row) : undefined;
  }

  list(): InstalledPackage[] {
    return (this.db.prepare('SELECT * FROM installed_packages ORDER BY app_id').all() as Row[]).map((r) => this.toPackage(r));
  }

  owner(appId: string): AppOwner | undefined {
    const r = this.db.prepare('SELECT * FROM app_owners WHERE app_id = ?').get(appId) as OwnerRow | undefined;
    return r ? { appId: r.app_id, vendor: r.vendor, since: r.since, transferredFrom: r.transferred_from } : undefined;
  }

  /**
   * Records an install atomically. Inside one IMMEDIATE transaction (so two installs cannot both
   * pass a check): the app id's ownership is checked (always; `transferFrom` names the owner to
   * hand it over from), then the caller's `check` (version monotonicity), then the current
   * version, the owner and a history row are written.
   */
  record(p: Omit<InstalledPackage, 'path'>, signers: string[],
    options: { transferFrom?: string; check?: (previous: InstalledPackage | undefined) => void } = {}): void {
    this.db.transaction(() => {
      const owner = this.owner(p.appId);
      checkAppOwnership(p.appId, p.vendor, owner, options.transferFrom);
      options.check?.(this.get(p.appId));
      this.db.prepare(`INSERT INTO installed_packages (app_id, version, vendor, digest, path, installed_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(app_id) DO UPDATE SET version = excluded.version, vendor = excluded.vendor, digest = excluded.digest,
        path = excluded.path, installed_at = excluded.installed_at`).run(p.appId, p.version, p.vendor, p.digest, storePathOf(p.digest), p.installedAt);
      if (!owner) {
        this.db.prepare('INSERT INTO app_owners (app_id, vendor, since) VALUES (?, ?, ?)').run(p.appId, p.vendor, p.installedAt);
      } else if (owner.vendor !== p.vendor) {
        // An explicit transfer (checkAppOwnership allowed it).
        this.db.prepare('UPDATE app_owners SET vendor = ?, since = ?, transferred_from = ? WHERE app_id = ?').run(p.vendor, p.installedAt, owner.vendor, p.appId);
      }
      this.db.prepare('INSERT INTO install_history (app_id, version, vendor, digest, signers, installed_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(p.appId, p.version, p.vendor, p.digest, signers.join(','), p.installedAt);
    }).immediate();
  }

  /** Key ids that signed the installed version (from its install record). */
  signersOf(p: InstalledPackage): string[] {
    const row = this.db.prepare('SELECT signers FROM install_history WHERE app_id = ? AND digest = ? ORDER BY id DESC LIMIT 1')
      .get(p.appId, p.digest) as { signers: string } | undefined;
    return row?.signers ? row.signers.split(',') : [];
  }

  /** Forgets the installed version (history stays). Returns whether there was one. */
  remove(appId: string): boolean {
    return this.db.prepare('DELETE FROM installed_packages WHERE app_id = ?').run(appId).changes > 0;
  }
}
