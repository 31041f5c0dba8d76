// The device's join to one fleet manager, kept in the state database (table fleet_enrollment, one
// row) with the credentials copied under <data-dir>/fleet/. The daemon starts its fleet link when a
// row exists and stops it when `fleet leave` removes it.
import type Database from 'better-sqlite3';
import type { TrustBundle } from './trust-bundle.js';
import type { WfmClientIdentity } from './spiffe-id.js';

export type TrustSource = { kind: 'file'; path: string } | { kind: 'identity'; url: string; caFile?: string };

export interface DeviceFacts {
  vendor: string;
  modelNumber: string;
  serialNumber: string;
}

export interface Enrollment {
  wfmUrl: string;
  deviceId: string;
  identity: WfmClientIdentity;
  /** Copies under <data-dir>/fleet/ (0600). */
  certFile: string;
  keyFile: string;
  trustBundle: TrustBundle;
  trustSource: TrustSource;
  allowTls12: boolean;
  pollIntervalMs: number;
  device: DeviceFacts;
  labels: Record<string, string>;
  joinedAt: number;
}

export class EnrollmentStore {
  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS fleet_enrollment (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      enrollment TEXT NOT NULL,
      joined_at INTEGER NOT NULL
    )`);
  }

  get(): Enrollment | undefined {
    const row = this.db.prepare('SELECT enrollment FROM fleet_enrollment WHERE id = 1').get() as { enrollment: string } | undefined;
    return row ? (JSON.parse(row.enrollment) as Enrollment) : undefined;
  }

  /** When the current join was made (0: none); a different value means leave + join happened. */
  generation(): number {
    const row = this.db.prepare('SELECT joined_at FROM fleet_enrollment WHERE id = 1').get() as { joined_at: number } | undefined;
    return row?.joined_at ?? 0;
  }

  save(e: Enrollment): void {
    this.db.prepare('INSERT OR REPLACE INTO fleet_enrollment (id, enrollment, joined_at) VALUES (1, ?, ?)').run(JSON.stringify(e), e.joinedAt);
  }

  replaceTrustBundle(bundle: TrustBundle): void {
    const e = this.get();
    if (!e) return;
    this.db.prepare('UPDATE fleet_enrollment SET enrollment = ? WHERE id = 1').run(JSON.stringify({ ...e, trustBundle: bundle }));
  }

  remove(): void {
    this.db.prepare('DELETE FROM fleet_enrollment WHERE id = 1').run();
  }
}
