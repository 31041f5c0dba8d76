// The device's embedded SQLite database (WAL), shared by the stores of each area.
import path from 'node:path';
import Database from 'better-sqlite3';
import { ensureDataDir } from './data-dir.js';

export function openStateDb(dataDir: string): Database.Database {
  ensureDataDir(dataDir);
  const db = new Database(path.join(dataDir, 'state.db'));
  db.pragma('journal_mode = WAL');
  // FULL: an acknowledged install survives power loss, which edge devices see.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  return db;
}
