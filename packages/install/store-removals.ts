// Removing a package's directory from the content-addressed store, crash-safely. The database is
// the truth: the uninstall transaction forgets the package and, in the same commit, schedules its
// store directory here. Only then is the directory moved out of the store (one rename into
// staging/, so the store never holds a half-deleted package) and deleted. A crash at any point
// leaves a scheduled row or a staging/removing-* directory, which the next `finish()` completes.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';

/** Store directories are named after the package's SHA-256; nothing else is ever removed. */
const STORE_NAME = /^sha256-[0-9a-f]{64}$/;
const REMOVING_PREFIX = 'removing-';

export class StoreRemovals {
  constructor(private readonly db: Database.Database, private readonly dataDir: string) {
    db.exec('CREATE TABLE IF NOT EXISTS store_removals (store_name TEXT PRIMARY KEY, scheduled_at TEXT NOT NULL)');
  }

  /**
   * Schedules the store directory of `storePath` for removal; call it inside the transaction that
   * forgets the package. Returns false (and schedules nothing) for a path that does not name a
   * store directory: only `<data-dir>/packages/sha256-<hex>` is ever deleted, whatever the row says.
   */
  schedule(storePath: string): boolean {
    const name = path.basename(storePath);
    if (!STORE_NAME.test(name)) return false;
    this.db.prepare('INSERT INTO store_removals (store_name, scheduled_at) VALUES (?, ?) ON CONFLICT DO NOTHING').run(name, new Date().toISOString());
    return true;
  }

  /** Carries out every scheduled removal, and finishes removals a crash interrupted. */
  finish(): void {
    const storeRoot = path.join(this.dataDir, 'packages');
    const stagingRoot = path.join(this.dataDir, 'staging');
    const names = (this.db.prepare('SELECT store_name FROM store_removals').all() as { store_name: string }[]).map((r) => r.store_name);
    for (const name of names) {
      const trash = path.join(stagingRoot, `${REMOVING_PREFIX}${randomBytes(6).toString('hex')}`);
      // The check that no installed package uses the directory again (the same bytes re-installed
      // since) and the move out of the store happen under the database's write lock.
      this.db.transaction(() => {
        const digest = `sha256:${name.slice('sha256-'.length)}`;
        const inUse = this.db.prepare('SELECT 1 FROM installed_packages WHERE digest = ?').get(digest);
        if (!inUse) {
          fs.mkdirSync(stagingRoot, { recursive: true, mode: 0o700 });
          try {
            // rename moves a symlink itself, never what it points to
            fs.renameSync(path.join(storeRoot, name), trash);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          }
        }
        this.db.prepare('DELETE FROM store_removals WHERE store_name = ?').run(name);
      }).immediate();
    }
    let leftovers: string[] = [];
    try {
      leftovers = fs.readdirSync(stagingRoot).filter((n) => n.startsWith(REMOVING_PREFIX));
    } catch {
      return; // no staging dir: nothing was ever moved out
    }
    // fs.rm removes links as links (lstat), so nothing outside the tree is touched.
    for (const n of leftovers) fs.rmSync(path.join(stagingRoot, n), { recursive: true, force: true });
  }
}
