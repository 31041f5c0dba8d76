// Which application versions are installed, in the device's SQLite database, plus a history of
// every install, so an operator can see what changed and when.
import type Database from 'better-sqlite3';

export interface InstalledPackage {
  appId: string;
  version: string;
  vendor: string;
  digest: string;
  path: string;
  installedAt: string;
}

interface Row { app_id: string; version: string; vendor: string; digest: string; path: string; installed_at: string }
const toPackage = (r: Row): InstalledPackage => ({ appId: r.app_id, version: r.version, vendor: r.vendor, digest: r.digest, path: r.path, installedAt: r.installed_at });

export class InstalledPackages {
  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS installed_packages (
      app_id TEXT PRIMARY KEY, version TEXT NOT NULL, vendor TEXT NOT NULL, digest TEXT NOT NULL,
      path TEXT NOT NULL, installed_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS install_history (
      id INTEGER PRIMARY KEY AUTOINCREMENT, app_id TEXT NOT NULL, version TEXT NOT NULL, vendor TEXT NOT NULL,
      digest TEXT NOT NULL, signers TEXT NOT NULL, installed_at TEXT NOT NULL
    )`);
  }

  get(appId: string): InstalledPackage | undefined {
    const row = this.db.prepare('SELECT * FROM installed_packages WHERE app_id = ?').get(appId) as Row | undefined;
    return row ? toPackage(row) : undefined;
  }

  list(): InstalledPackage[] {
    return (this.db.prepare('SELECT * FROM installed_packages ORDER BY app_id').all() as Row[]).map(toPackage);
  }

  /** Records an install atomically (current version + history row). */
  record(p: InstalledPackage, signers: string[]): void {
    this.db.transaction(() => {
      this.db.prepare(`INSERT INTO installed_packages (app_id, version, vendor, digest, path, installed_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT(app_id) DO UPDATE SET version = excluded.version, vendor = excluded.vendor, digest = excluded.digest,
        path = excluded.path, installed_at = excluded.installed_at`).run(p.appId, p.version, p.vendor, p.digest, p.path, p.installedAt);
      this.db.prepare('INSERT INTO install_history (app_id, version, vendor, digest, signers, installed_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(p.appId, p.version, p.vendor, p.digest, signers.join(','), p.installedAt);
    })();
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
