// Deployment status reports waiting for the fleet manager to accept them (table
// fleet_status_outbox). Each transition the applier reports is queued here in the same moment it
// is reported, so a daemon restart or a long outage loses none; they are sent oldest first and
// removed only once the WFM answered 200/201. A cap keeps a device offline for weeks from growing
// the table without bound: past it the oldest intermediate reports go (each deployment's newest
// report always stays).
import type Database from 'better-sqlite3';

export interface QueuedReport {
  seq: number;
  deploymentId: string;
  body: string;
  attempts: number;
}

export class StatusOutbox {
  constructor(private readonly db: Database.Database, private readonly maxRows = 10_000) {
    db.exec(`CREATE TABLE IF NOT EXISTS fleet_status_outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      deployment_id TEXT NOT NULL,
      body TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      queued_at INTEGER NOT NULL
    )`);
  }

  enqueue(deploymentId: string, body: object): void {
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO fleet_status_outbox (deployment_id, body, queued_at) VALUES (?, ?, ?)').run(deploymentId, JSON.stringify(body), Date.now());
      const count = (this.db.prepare('SELECT COUNT(*) AS n FROM fleet_status_outbox').get() as { n: number }).n;
      if (count > this.maxRows) {
        this.db.prepare(`DELETE FROM fleet_status_outbox WHERE seq IN (
          SELECT seq FROM fleet_status_outbox o WHERE seq < (SELECT MAX(seq) FROM fleet_status_outbox p WHERE p.deployment_id = o.deployment_id)
          ORDER BY seq LIMIT ?)`).run(count - this.maxRows);
      }
    })();
  }

  peek(limit = 50): QueuedReport[] {
    const rows = this.db.prepare('SELECT seq, deployment_id, body, attempts FROM fleet_status_outbox ORDER BY seq LIMIT ?').all(limit) as
      Array<{ seq: number; deployment_id: string; body: string; attempts: number }>;
    return rows.map((r) => ({ seq: r.seq, deploymentId: r.deployment_id, body: r.body, attempts: r.attempts }));
  }

  size(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM fleet_status_outbox').get() as { n: number }).n;
  }

  done(seq: number): void {
    this.db.prepare('DELETE FROM fleet_status_outbox WHERE seq = ?').run(seq);
  }

  failed(seq: number): void {
    this.db.prepare('UPDATE fleet_status_outbox SET attempts = attempts + 1 WHERE seq = ?').run(seq);
  }

  clear(): void {
    this.db.prepare('DELETE FROM fleet_status_outbox').run();
  }
}
