// The device's embedded SQLite database (WAL), shared by the stores of each area.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export function openStateDb(dataDir: string): Database.Database {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(path.join(dataDir, 'state.db'));
  db.pragma('journal_mode = WAL');
  // FULL: an acknowledged install survives power loss, which edge devices see.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  return db;
}
