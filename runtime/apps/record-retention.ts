// Keeps the log and audit tables bounded: each vendor keeps its newest N rows (the device's own
// rows, vendor '', under a quota of their own), and rows older than the maximum age go. Pruning
// only ever deletes within the vendor that is over its quota, so a vendor flooding within its rate
// limits evicts its own rows, never another vendor's or the device's (redteam finding 11: global
// retention let a flood erase every other vendor's audit trail and the flooder's own denials).
//
// Rows go a small batch at a time, so pruning never holds the database for long (a flood inserts
// faster than one big DELETE would be fair to everyone else waiting on the write lock). Who is over
// quota comes from record_counts (kept by triggers, app-records.ts), and a vendor's oldest rows from
// the (vendor, id) index, so a pass costs the same however many rows the tables hold.
import type Database from 'better-sqlite3';
import type { StateLimits } from '../state/state-limits.js';

const BATCH = 500;

interface TablePruner {
  table: string;
  keep: () => number;
  overQuota: Database.Statement<[string, number]>;
  oldestOf: Database.Statement<[string, number]>;
  tooOld: Database.Statement<[number, string]>;
}

export class RecordRetention {
  readonly #tables: TablePruner[];

  constructor(db: Database.Database, readonly limits: () => StateLimits) {
    const pruner = (table: string, keep: () => number): TablePruner => ({
      table,
      keep,
      overQuota: db.prepare(`SELECT vendor, rows FROM record_counts WHERE tbl = ? AND rows > ?`),
      oldestOf: db.prepare(`DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE vendor = ? ORDER BY id LIMIT ?)`),
      // Ids grow with time: only the oldest batch is looked at, so a pass costs the same whether or not anything is due.
      tooOld: db.prepare(`DELETE FROM ${table} WHERE id IN (SELECT id FROM (SELECT id, at FROM ${table} ORDER BY id LIMIT ?) WHERE at < ?)`),
    });
    this.#tables = [pruner('app_logs', () => limits().logRows), pruner('audit_events', () => limits().auditRows)];
  }

  /** Deletes at most one batch per vendor over its quota and table, and one of aged rows; answers how many went (0: nothing is due). */
  pruneBatch(): number {
    const cutoff = new Date(Date.now() - this.limits().maxAgeMs).toISOString();
    let deleted = 0;
    for (const t of this.#tables) {
      const keep = t.keep();
      for (const { vendor, rows } of t.overQuota.all(t.table, keep) as { vendor: string; rows: number }[]) {
        deleted += t.oldestOf.run(vendor, Math.min(BATCH, rows - keep)).changes;
      }
      deleted += t.tooOld.run(BATCH, cutoff).changes;
    }
    return deleted;
  }
}
