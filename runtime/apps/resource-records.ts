// What each vendor's guests make the host hold, against its caps, and what the device dropped to
// stay within them (messages, audit and log rows), in the state database for `bulkhead status`.
// A vendor row is written by the daemon every few seconds; the `*device*` row counts what the
// daemon itself had to drop (rows it could not write to a full disk).
import type Database from 'better-sqlite3';

export interface ResourceRow {
  vendor: string;
  hostBytes: number; hostBytesLimit: number;
  fds: number; fdsLimit: number;
  diskBytes: number; diskLimit: number;
  /** Messages lost to this vendor's subscribers' full queues, and to others' from its publishing. */
  messagesDropped: number; publishedDropped: number;
  updatedAt: string;
}

export interface DeviceDrops { logRowsDropped: number; auditRowsDropped: number; updatedAt: string }

export const DEVICE_ROW = '*device*';

export class ResourceRecords {
  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS vendor_resources (
      vendor TEXT PRIMARY KEY, host_bytes INTEGER NOT NULL, host_bytes_limit INTEGER NOT NULL, fds INTEGER NOT NULL,
      fds_limit INTEGER NOT NULL, disk_bytes INTEGER NOT NULL, disk_limit INTEGER NOT NULL,
      messages_dropped INTEGER NOT NULL, published_dropped INTEGER NOT NULL, updated_at TEXT NOT NULL)`);
  }

  upsert(r: Omit<ResourceRow, 'updatedAt'>): void {
    this.db.prepare(`INSERT INTO vendor_resources VALUES (@vendor, @hostBytes, @hostBytesLimit, @fds, @fdsLimit, @diskBytes, @diskLimit,
        @messagesDropped, @publishedDropped, @now)
      ON CONFLICT(vendor) DO UPDATE SET host_bytes = excluded.host_bytes, host_bytes_limit = excluded.host_bytes_limit, fds = excluded.fds,
        fds_limit = excluded.fds_limit, disk_bytes = excluded.disk_bytes, disk_limit = excluded.disk_limit,
        messages_dropped = excluded.messages_dropped, published_dropped = excluded.published_dropped, updated_at = excluded.updated_at`)
      .run({ ...r, now: new Date().toISOString() });
  }

  /** The daemon's own drops, kept in the same table under DEVICE_ROW (host_bytes: log rows, fds: audit rows). */
  setDeviceDrops(logRowsDropped: number, auditRowsDropped: number): void {
    this.upsert({ vendor: DEVICE_ROW, hostBytes: logRowsDropped, hostBytesLimit: 0, fds: auditRowsDropped, fdsLimit: 0, diskBytes: 0, diskLimit: 0, messagesDropped: 0, publishedDropped: 0 });
  }

  vendors(): ResourceRow[] {
    return (this.db.prepare(`SELECT * FROM vendor_resources WHERE vendor != ? ORDER BY vendor`).all(DEVICE_ROW) as Record<string, string & number>[]).map((r) => ({
      vendor: r.vendor, hostBytes: r.host_bytes, hostBytesLimit: r.host_bytes_limit, fds: r.fds, fdsLimit: r.fds_limit,
      diskBytes: r.disk_bytes, diskLimit: r.disk_limit, messagesDropped: r.messages_dropped, publishedDropped: r.published_dropped, updatedAt: r.updated_at,
    }));
  }

  deviceDrops(): DeviceDrops {
    const r = this.db.prepare('SELECT * FROM vendor_resources WHERE vendor = ?').get(DEVICE_ROW) as Record<string, string & number> | undefined;
    return { logRowsDropped: r?.host_bytes ?? 0, auditRowsDropped: r?.fds ?? 0, updatedAt: r?.updated_at ?? '' };
  }
}
