// The kv host API's storage: one table in the device's SQLite database, keyed by namespace, with a
// running byte count per namespace so a quota check costs one indexed read, not a scan.
import type Database from 'better-sqlite3';

export const MAX_KEY_BYTES = 256;

export class QuotaExceeded extends Error {}

export class KvStore {
  readonly #get: Database.Statement<[string, string], { value: Buffer }>;
  readonly #usage: Database.Statement<[string], { bytes: number }>;
  readonly #set: (namespace: string, key: string, value: Uint8Array, quota: number) => void;
  readonly #delete: (namespace: string, key: string) => void;
  readonly #list: Database.Statement<[string, string, string], { key: string }>;

  constructor(readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS kv_entries (
        namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (namespace, key));
      CREATE TABLE IF NOT EXISTS kv_usage (namespace TEXT PRIMARY KEY, bytes INTEGER NOT NULL)`);
    this.#get = db.prepare('SELECT value FROM kv_entries WHERE namespace = ? AND key = ?');
    this.#usage = db.prepare('SELECT bytes FROM kv_usage WHERE namespace = ?');
    this.#list = db.prepare("SELECT key FROM kv_entries WHERE namespace = ? AND key >= ? AND key < ? ORDER BY key");
    const sizeOf = (key: string, value: Uint8Array) => Buffer.byteLength(key) + value.length;
    const adjust = db.prepare(`INSERT INTO kv_usage (namespace, bytes) VALUES (?, ?)
      ON CONFLICT(namespace) DO UPDATE SET bytes = bytes + excluded.bytes`);
    const upsert = db.prepare(`INSERT INTO kv_entries (namespace, key, value) VALUES (?, ?, ?)
      ON CONFLICT(namespace, key) DO UPDATE SET value = excluded.value`);
    const remove = db.prepare('DELETE FROM kv_entries WHERE namespace = ? AND key = ?');
    // IMMEDIATE: take the write lock before reading the old size. A deferred transaction that reads
    // first cannot wait for the lock later (SQLite answers SQLITE_BUSY at once in WAL mode).
    this.#set = db.transaction((namespace: string, key: string, value: Uint8Array, quota: number) => {
      const old = this.#get.get(namespace, key);
      const delta = sizeOf(key, value) - (old ? sizeOf(key, old.value) : 0);
      const used = this.usage(namespace);
      if (delta > 0 && used + delta > quota) {
        throw new QuotaExceeded(`namespace would hold ${used + delta} bytes, over its quota of ${quota}`);
      }
      upsert.run(namespace, key, Buffer.from(value));
      adjust.run(namespace, delta);
    }).immediate;
    this.#delete = db.transaction((namespace: string, key: string) => {
      const old = this.#get.get(namespace, key);
      if (!old) return;
      remove.run(namespace, key);
      adjust.run(namespace, -sizeOf(key, old.value));
    }).immediate;
  }

  get(namespace: string, key: string): Uint8Array | undefined {
    const row = this.#get.get(namespace, key);
    return row ? new Uint8Array(row.value) : undefined;
  }

  usage(namespace: string): number {
    return this.#usage.get(namespace)?.bytes ?? 0;
  }

  /** Throws QuotaExceeded (and writes nothing) when the namespace would exceed `quota` bytes. */
  set(namespace: string, key: string, value: Uint8Array, quota: number): void {
    this.#set(namespace, key, value, quota);
  }

  delete(namespace: string, key: string): void {
    this.#delete(namespace, key);
  }

  keys(namespace: string, prefix: string): string[] {
    // Every key starting with `prefix` sorts in [prefix, prefix + U+10FFFF).
    return this.#list.all(namespace, prefix, `${prefix}\u{10FFFF}`).map((r) => r.key);
  }
}
