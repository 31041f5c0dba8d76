// Log and audit retention per vendor (redteam finding 11): what a pruning pass costs the daemon's
// main thread with many rows held, with nothing due and with one vendor flooding past its quota,
// and what the per-vendor row counts (triggers) add to each insert.
// Run: node --import tsx bench/retention.bench.ts
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AppRecords } from '../runtime/apps/app-records.js';
import { RecordRetention } from '../runtime/apps/record-retention.js';
import { DEFAULT_STATE_LIMITS } from '../runtime/state/state-limits.js';
import { writeReport } from './support/report.js';
import type { Sample } from './support/stats.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-bench-retention-'));
const rows: Sample[] = [];
try {
  const db = new Database(path.join(dir, 'state.db'));
  db.pragma('journal_mode = WAL');
  const records = new AppRecords(db);
  const row = (vendor: string, i: number) => ({ at: new Date().toISOString(), vendor, appId: 'app', component: 'main', capability: 'kv', attempted: `call ${i}`, reason: 'no kv quota' });
  const insertMs = (n: number, vendor: string) => {
    const t0 = performance.now();
    db.transaction(() => { for (let i = 0; i < n; i++) records.addAudit(row(vendor, i)); })();
    return (performance.now() - t0) / n;
  };
  // Per-insert cost with the count triggers, against the same insert with them dropped (a copy).
  const withTriggers = [...Array(5)].map(() => insertMs(20_000, `Vendor ${Math.floor(Math.random() * 5)}`) * 1000);
  rows.push({ label: 'audit insert, per-vendor counts kept by triggers', unit: 'us', samples: withTriggers });
  // The same inserts (AppRecords.addAudit) on a database without the triggers and the index.
  const plain = new Database(path.join(dir, 'plain.db'));
  plain.pragma('journal_mode = WAL');
  const plainRecords = new AppRecords(plain);
  plain.exec('DROP TRIGGER audit_events_counted; DROP TRIGGER audit_events_uncounted; DROP INDEX audit_events_by_vendor');
  rows.push({ label: 'audit insert, no index or triggers (before)', unit: 'us', samples: [...Array(5)].map(() => {
    const t0 = performance.now();
    plain.transaction(() => { for (let i = 0; i < 20_000; i++) plainRecords.addAudit(row(`Vendor ${i % 5}`, i)); })();
    return ((performance.now() - t0) / 20_000) * 1000;
  }) });
  plain.close();
  // 100k rows over 5 vendors held; a pass with nothing due, then with one vendor 20k over.
  const retention = new RecordRetention(db, () => ({ ...DEFAULT_STATE_LIMITS, auditRows: 100_000 }));
  const pass = () => { const t0 = performance.now(); retention.pruneBatch(); return performance.now() - t0; };
  rows.push({ label: 'pruning pass, 100k rows held, nothing due', unit: 'ms', samples: [...Array(20)].map(pass) });
  insertMs(120_000, 'Rogue Labs');
  rows.push({ label: 'pruning pass, one vendor 120k rows over a 100k quota (500 deleted)', unit: 'ms', samples: [...Array(20)].map(pass) });
  db.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
writeReport('retention', 'Log and audit retention per vendor: insert and pruning cost', rows, [
  'Insert: per row, in transactions of 20,000 (the daemon writes a flush of up to 500 per transaction).',
  'Pruning pass: RecordRetention.pruneBatch() on the audit table; who is over quota comes from record_counts, the oldest rows from the (vendor, id) index.',
]);
