// What `bulkhead fleet status` shows about the link (table fleet_link_status, one row): written by
// the daemon's fleet link, read by the CLI.
import type Database from 'better-sqlite3';

export type LinkState = 'starting' | 'in-sync' | 'converging' | 'retrying' | 'retired';

export interface LinkStatus {
  state: LinkState;
  lastPollAt?: number;
  lastSuccessAt?: number;
  nextPollAt?: number;
  /** The last failure or refusal: its code and one line. */
  lastError?: { code: string; message: string; at: number };
  /** The last manifest refused for rollback or integrity (a security event). */
  lastRefusal?: { code: string; message: string; at: number };
  capabilitiesReportedAt?: number;
  /** Fingerprint of the capabilities the WFM accepted last. */
  capabilitiesFingerprint?: string;
  trustBundleRefreshedAt?: number;
}

export class LinkStatusStore {
  constructor(private readonly db: Database.Database) {
    db.exec('CREATE TABLE IF NOT EXISTS fleet_link_status (id INTEGER PRIMARY KEY CHECK (id = 1), status TEXT NOT NULL)');
  }

  get(): LinkStatus | undefined {
    const row = this.db.prepare('SELECT status FROM fleet_link_status WHERE id = 1').get() as { status: string } | undefined;
    return row ? (JSON.parse(row.status) as LinkStatus) : undefined;
  }

  update(patch: Partial<LinkStatus>): LinkStatus {
    const next = { state: 'starting', ...this.get(), ...patch } as LinkStatus;
    this.db.prepare('INSERT OR REPLACE INTO fleet_link_status (id, status) VALUES (1, ?)').run(JSON.stringify(next));
    return next;
  }

  clear(): void {
    this.db.prepare('DELETE FROM fleet_link_status').run();
  }
}
