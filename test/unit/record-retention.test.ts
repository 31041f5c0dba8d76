// Log and audit retention per vendor (redteam finding 11): a vendor flooding within its rate limits
// prunes only its own rows; another vendor's rows and the device's own survive, on a real database
// file, and the row counts the pruning relies on stay exact, also for a database from before.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppRecords } from '../../runtime/apps/app-records.js';
import { RecordRetention } from '../../runtime/apps/record-retention.js';
import { DEFAULT_STATE_LIMITS } from '../../runtime/state/state-limits.js';
import { tempDir } from '../support/paths.js';

const now = () => new Date().toISOString();
const auditRow = (vendor: string, n: number) => ({ at: now(), vendor, appId: `${vendor}-app`, component: 'main', capability: 'kv', attempted: `call ${n}`, reason: 'no kv quota' });
const counts = (db: Database.Database) => Object.fromEntries((db.prepare("SELECT tbl || ':' || vendor AS k, rows FROM record_counts ORDER BY k").all() as { k: string; rows: number }[]).map((r) => [r.k, r.rows]));

test("a flooding vendor cannot prune another vendor's or the device's audit and log rows", () => {
  const dir = tempDir('bulkhead-retention-');
  const db = new Database(path.join(dir, 'state.db'));
  try {
    const records = new AppRecords(db);
    // The victim's denials and logs, and the device's own rows, come first (the oldest).
    for (let i = 0; i < 5; i++) records.addAudit(auditRow('Victim Co', i));
    for (let i = 0; i < 3; i++) records.addAudit(auditRow('', i));
    records.addLogs([{ vendor: 'Victim Co', appId: 'victim', component: 'main', at: now(), level: 'info', message: 'victim line', fields: {} }]);
    // The flood: within its rate, for long enough to turn the table over many times.
    const insert = db.transaction(() => {
      for (let i = 0; i < 5000; i++) records.addAudit(auditRow('Rogue Labs', i));
      records.addLogs([...Array(5000)].map((_, i) => ({ vendor: 'Rogue Labs', appId: 'rogue', component: 'main', at: now(), level: 'info', message: `flood ${i}`, fields: {} })));
    });
    const retention = new RecordRetention(db, () => ({ ...DEFAULT_STATE_LIMITS, auditRows: 100, logRows: 100 }));
    for (let round = 0; round < 4; round++) {
      insert();
      while (retention.pruneBatch() > 0);
    }
    assert.is(records.audit({ vendor: 'Victim Co' }).length, 5, "the victim's audit rows are all there");
    assert.is(records.audit({ vendor: '' }).length, 3, "and the device's");
    assert.equal(records.logs('victim').map((l) => l.message), ['victim line']);
    const rogue = records.audit({ vendor: 'Rogue Labs' });
    assert.is(rogue.length, 100, 'the flooder keeps its quota');
    assert.is(rogue[0]!.attempted, 'call 4900', '(its newest rows)');
    assert.is(records.logs('rogue').length, 100);
    assert.equal(counts(db), { 'app_logs:Rogue Labs': 100, 'app_logs:Victim Co': 1, 'audit_events:': 3, 'audit_events:Rogue Labs': 100, 'audit_events:Victim Co': 5 });
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a database from before: log rows count as the device\'s, counts start from what is there, and pruning stays per vendor', () => {
  const dir = tempDir('bulkhead-retention-old-');
  const file = path.join(dir, 'state.db');
  const old = new Database(file);
  old.exec(`CREATE TABLE app_logs (id INTEGER PRIMARY KEY AUTOINCREMENT, app_id TEXT NOT NULL, component TEXT NOT NULL, at TEXT NOT NULL,
      level TEXT NOT NULL, message TEXT NOT NULL, fields TEXT NOT NULL);
    CREATE TABLE audit_events (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, vendor TEXT NOT NULL, app_id TEXT NOT NULL,
      component TEXT NOT NULL, capability TEXT NOT NULL, attempted TEXT NOT NULL, reason TEXT NOT NULL);`);
  const ins = old.prepare("INSERT INTO audit_events (at, vendor, app_id, component, capability, attempted, reason) VALUES (?, ?, 'a', 'c', 'kv', 'x', 'y')");
  for (let i = 0; i < 300; i++) ins.run(now(), i < 10 ? 'Victim Co' : 'Rogue Labs');
  old.prepare("INSERT INTO app_logs (app_id, component, at, level, message, fields) VALUES ('a', 'c', ?, 'info', 'old', '{}')").run(now());
  old.close();
  const db = new Database(file);
  try {
    const records = new AppRecords(db);
    new AppRecords(db); // opening again adds nothing twice
    assert.equal(counts(db), { 'app_logs:': 1, 'audit_events:Rogue Labs': 290, 'audit_events:Victim Co': 10 });
    const retention = new RecordRetention(db, () => ({ ...DEFAULT_STATE_LIMITS, auditRows: 50 }));
    while (retention.pruneBatch() > 0);
    assert.is(records.audit({ vendor: 'Victim Co' }).length, 10);
    assert.is(records.audit({ vendor: 'Rogue Labs' }).length, 50);
    assert.is(records.logs('a').length, 1);
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
