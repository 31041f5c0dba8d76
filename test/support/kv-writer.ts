// One writer of kv for the quota race test: its own process and database connection (as a vendor
// sandbox thread or the CLI has), writing small values into its namespace from a common start
// time until the quota refuses; prints how many it stored.
// Usage: kv-writer.ts <db> <namespace> <vendor> <quota bytes> <start ms> <value bytes>
import Database from 'better-sqlite3';
import { KvStore, QuotaExceeded } from '../../host-apis/bulkhead/kv-store.js';

const [file, namespace, vendor, quota, start, size] = process.argv.slice(2);
const db = new Database(file!);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 5000');
const kv = new KvStore(db);
while (Date.now() < Number(start));
let stored = 0;
for (;;) {
  try {
    kv.set(namespace!, `k${stored}`, new Uint8Array(Number(size)), Number(quota), { vendor: vendor!, quotaBytes: Number(quota) });
    stored++;
  } catch (err) {
    if (!(err instanceof QuotaExceeded)) throw err;
    break;
  }
}
process.stdout.write(String(stored));
db.close();
