// The kv host API's storage: one table in the device's SQLite database, keyed by namespace, with a
// running byte count per namespace so a quota check costs one indexed read, not a scan. Each
// namespace's count row names its vendor, so the vendor's quota covers all its namespaces (one per
// app, redteam finding 7: six apps stored six times the vendor's quota): checked in the write's own
// IMMEDIATE transaction, so two writers of one vendor (two sandboxes, the CLI) cannot both pass.
import type Database from 'better-sqlite3';

export const MAX_KEY_BYTES = 256;

export class QuotaExceeded extends Error {}

/** The vendor whose quota a write also counts against: its exact identity and its kvQuota. */
export interface KvVendorQuota { vendor: string; quotaBytes: number }

// The read cache: what SQLite returned for recent gets (a value or its absence), so a guest reading
// the same keys in a loop does not pay a query each time (~3.5 us, against ~0.1 us from the map).
// Only small values, bounded in entries and bytes; the oldest go first.
const CACHE_ENTRIES = 1024;
const CACHE_BYTES = 256 * 1024;
const CACHE_VALUE_MAX = 4096;
const cacheId = (namespace: string, key: string) => `${namespace.length}:${namespace}${key}`;

export class KvStore {
  readonly #get: Database.Statement<[string, string], { value: Buffer }>;
  readonly #usage: Database.Statement<[string], { bytes: number }>;
  readonly #set: (namespace: string, key: string, value: Uint8Array, quota: number, vendor: KvVendorQuota | undefined) => void;
  readonly #vendorUsage: Database.Statement<[string], { bytes: number }>;
  readonly #delete: (namespace: string, key: string) => void;
  readonly #list: Database.Statement<[string, string, string], { key: string }>;
  // Keyed by cacheId() (the namespace's length first, so no two namespace/key pairs share an id).
  // Correct because a namespace is only ever written through the one
  // KvStore of its vendor's sandbox (namespaces are `<vendor>/...`, one sandbox per vendor), and
  // every write below updates the entry after its transaction commits.
  readonly #cache = new Map<string, Uint8Array | null>();
  #cacheBytes = 0;

  constructor(readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS kv_entries (
        namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (namespace, key));
      CREATE TABLE IF NOT EXISTS kv_usage (namespace TEXT PRIMARY KEY, bytes INTEGER NOT NULL)`);
    addVendorColumn(db);
    this.#vendorUsage = db.prepare('SELECT COALESCE(SUM(bytes), 0) AS bytes FROM kv_usage WHERE vendor = ?');
    this.#get = db.prepare('SELECT value FROM kv_entries WHERE namespace = ? AND key = ?');
    this.#usage = db.prepare('SELECT bytes FROM kv_usage WHERE namespace = ?');
    this.#list = db.prepare("SELECT key FROM kv_entries WHERE namespace = ? AND key >= ? AND key < ? ORDER BY key");
    const sizeOf = (key: string, value: Uint8Array) => Buffer.byteLength(key) + value.length;
    const adjust = db.prepare(`INSERT INTO kv_usage (namespace, bytes) VALUES (?, ?)
      ON CONFLICT(namespace) DO UPDATE SET bytes = bytes + excluded.bytes`);
    const adjustOwned = db.prepare(`INSERT INTO kv_usage (namespace, bytes, vendor) VALUES (?, ?, ?)
      ON CONFLICT(namespace) DO UPDATE SET bytes = bytes + excluded.bytes, vendor = excluded.vendor`);
    const upsert = db.prepare(`INSERT INTO kv_entries (namespace, key, value) VALUES (?, ?, ?)
      ON CONFLICT(namespace, key) DO UPDATE SET value = excluded.value`);
    const remove = db.prepare('DELETE FROM kv_entries WHERE namespace = ? AND key = ?');
    // IMMEDIATE: take the write lock before reading the old size. A deferred transaction that reads
    // first cannot wait for the lock later (SQLite answers SQLITE_BUSY at once in WAL mode).
    this.#set = db.transaction((namespace: string, key: string, value: Uint8Array, quota: number, vendor: KvVendorQuota | undefined) => {
      const old = this.#get.get(namespace, key);
      const delta = sizeOf(key, value) - (old ? sizeOf(key, old.value) : 0);
      const used = this.usage(namespace);
      if (delta > 0 && used + delta > quota) {
        throw new QuotaExceeded(`namespace would hold ${used + delta} bytes, over its quota of ${quota}`);
      }
      if (vendor && delta > 0) {
        const all = this.vendorUsage(vendor.vendor);
        if (all + delta > vendor.quotaBytes) {
          throw new QuotaExceeded(`the vendor's namespaces would hold ${all + delta} bytes, over its kv quota of ${vendor.quotaBytes} for all its apps`);
        }
      }
      upsert.run(namespace, key, Buffer.from(value));
      if (vendor) adjustOwned.run(namespace, delta, vendor.vendor);
      else adjust.run(namespace, delta);
    }).immediate;
    this.#delete = db.transaction((namespace: string, key: string) => {
      const old = this.#get.get(namespace, key);
      if (!old) return;
      remove.run(namespace, key);
      adjust.run(namespace, -sizeOf(key, old.value));
    }).immediate;
  }

  /** The value (the caller must not modify it: it may be the cached copy), or undefined. */
  get(namespace: string, key: string): Uint8Array | undefined {
    const id = cacheId(namespace, key);
    const hit = this.#cache.get(id);
    if (hit !== undefined) return hit ?? undefined;
    const row = this.#get.get(namespace, key);
    const value = row ? new Uint8Array(row.value) : null;
    this.#remember(id, value);
    return value ?? undefined;
  }

  #forget(id: string): void {
    const old = this.#cache.get(id);
    if (old === undefined) return;
    this.#cacheBytes -= id.length + (old?.length ?? 0);
    this.#cache.delete(id);
  }

  #remember(id: string, value: Uint8Array | null): void {
    this.#forget(id);
    const size = id.length + (value?.length ?? 0);
    if ((value?.length ?? 0) > CACHE_VALUE_MAX) return;
    while (this.#cache.size >= CACHE_ENTRIES || (this.#cache.size > 0 && this.#cacheBytes + size > CACHE_BYTES)) {
      this.#forget(this.#cache.keys().next().value!);
    }
    this.#cache.set(id, value);
    this.#cacheBytes += size;
  }

  usage(namespace: string): number {
    return this.#usage.get(namespace)?.bytes ?? 0;
  }

  /** Bytes in all the namespaces of `vendor` (its exact identity). */
  vendorUsage(vendor: string): number {
    return this.#vendorUsage.get(vendor)?.bytes ?? 0;
  }

  /**
   * Throws QuotaExceeded (and writes nothing) when the namespace would exceed `quota` bytes, or all
   * the namespaces of `vendor` its quota.
   */
  set(namespace: string, key: string, value: Uint8Array, quota: number, vendor?: KvVendorQuota): void {
    const id = cacheId(namespace, key);
    // Forgotten first: if the write fails half-way (I/O error), the next get asks SQLite.
    this.#forget(id);
    this.#set(namespace, key, value, quota, vendor);
    if (value.length <= CACHE_VALUE_MAX) this.#remember(id, new Uint8Array(value));
  }

  delete(namespace: string, key: string): void {
    const id = cacheId(namespace, key);
    this.#forget(id);
    this.#delete(namespace, key);
    this.#remember(id, null);
  }

  keys(namespace: string, prefix: string): string[] {
    // Every key starting with `prefix` sorts in [prefix, prefix + U+10FFFF).
    return this.#list.all(namespace, prefix, `${prefix}\u{10FFFF}`).map((r) => r.key);
  }
}

/**
 * kv_usage rows name their namespace's vendor (indexed, for the vendor's sum). A database from
 * before gets the column once, filled from the namespace, which is `<vendor>/<name>` with a name
 * that never holds a `/` (manifest: [a-z0-9-], app ids alike), so the vendor is all before the last.
 */
function addVendorColumn(db: Database.Database): void {
  db.transaction(() => {
    const columns = db.prepare('PRAGMA table_info(kv_usage)').all() as { name: string }[];
    if (columns.some((c) => c.name === 'vendor')) return;
    db.exec('ALTER TABLE kv_usage ADD COLUMN vendor TEXT');
    const fill = db.prepare('UPDATE kv_usage SET vendor = ? WHERE namespace = ?');
    for (const { namespace } of db.prepare('SELECT namespace FROM kv_usage').all() as { namespace: string }[]) {
      const cut = namespace.lastIndexOf('/');
      if (cut > 0) fill.run(namespace.slice(0, cut), namespace);
    }
    db.exec('CREATE INDEX IF NOT EXISTS kv_usage_by_vendor ON kv_usage (vendor)');
  }).immediate();
}
