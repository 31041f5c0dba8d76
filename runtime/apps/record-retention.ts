// Keeps the log and audit tables bounded: rows beyond the newest N, or older than the maximum age,
// are deleted a small batch at a time, so pruning never holds the database for long (a flood
// inserts faster than one big DELETE would be fair to everyone else waiting on the write lock).
import type Database from 'better-sqlite3';
import type { StateLimits } from '../state/state-limits.js';

const BATCH = 500;

export class RecordRetention {
  readonly #prune: { table: string; keep: () => number; statement: Database.Statement<[number, number, string]> }[];

  constructor(db: Database.Database, limits: () => StateLimits) {
    // Both tables have an autoincrement id and an ISO `at`; ids grow with time.
    // Only the oldest batch is looked at, so a pass costs the same whether or not anything is due.
    const prune = (table: string) => db.prepare<[number, number, string]>(`DELETE FROM ${table} WHERE id IN (
      SELECT id FROM (SELECT id, at FROM ${table} ORDER BY id LIMIT ?)
      WHERE id <= (SELECT IFNULL(MAX(id), 0) FROM ${table}) - ? OR at < ?)`);
    this.#prune = [
      { table: 'app_logs', keep: () => limits().logRows, statement: prune('app_logs') },
      { table: 'audit_events', keep: () => limits().auditRows, statement: prune('audit_events') },
    ];
    this.limits = limits;
  }

  readonly limits: () => StateLimits;

  /** Deletes at most one batch per table; answers how many rows went (0: nothing is due). */
  pruneBatch(): number {
    const cutoff = new Date(Date.now() - this.limits().maxAgeMs).toISOString();
    let deleted = 0;
    for (const p of this.#prune) deleted += p.statement.run(BATCH, p.keep(), cutoff).changes;
    return deleted;
  }
}
