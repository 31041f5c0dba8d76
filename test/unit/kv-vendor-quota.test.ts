// The vendor's kvQuota covers all its namespaces together (redteam finding 7: six apps of one
// vendor stored six times its quota), on a real database file: apps of one vendor cooperating stay
// within the one quota, two processes racing the check cannot both pass it, other vendors are not
// affected, and a database from before counts what its namespaces already hold.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KvStore, QuotaExceeded } from '../../host-apis/bulkhead/kv-store.js';
import { createKv } from '../../host-apis/bulkhead/kv.js';
import { tempDir } from '../support/paths.js';
import { DeviceFdBudget, ResourceLedger, UNLIMITED } from '../../host-apis/limits/resource-ledger.js';

const writer = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'support', 'kv-writer.ts');
const KiB = 1024;

function withDb(fn: (file: string, db: Database.Database) => Promise<void> | void) {
  return async () => {
    const dir = tempDir('bulkhead-kv-quota-');
    const file = path.join(dir, 'state.db');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    try {
      await fn(file, db);
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('six apps of one vendor fill their namespaces: together they stay within the vendor quota', withDb((_file, db) => {
  const store = new KvStore(db);
  const denials: string[] = [];
  let stored = 0;
  for (let app = 0; app < 6; app++) {
    const kv = createKv(store, { namespace: `Rogue Labs/app-${app}`, quotaBytes: 8 * KiB, vendor: 'Rogue Labs', vendorQuotaBytes: 8 * KiB }, (d) => denials.push(d.reason));
    for (let i = 0; i < 100; i++) {
      try {
        kv.set(`k${i}`, new Uint8Array(KiB));
        stored++;
      } catch (err) {
        assert.is((err as { payload: { tag: string } }).payload.tag, 'quota-exceeded');
        break;
      }
    }
  }
  assert.ok(store.vendorUsage('Rogue Labs') <= 8 * KiB, `${store.vendorUsage('Rogue Labs')} bytes`);
  assert.is(stored, 7, 'seven 1 KiB values (plus keys) fit in 8 KiB, over all six apps');
  assert.match(denials[1]!, /the vendor's namespaces would hold \d+ bytes, over its kv quota of 8192 for all its apps/);
  // Another vendor's quota is its own; a delete gives room back to the vendor.
  const other = createKv(store, { namespace: 'Globex/app', quotaBytes: 8 * KiB, vendor: 'Globex', vendorQuotaBytes: 8 * KiB }, () => {});
  other.set('k', new Uint8Array(4 * KiB));
  createKv(store, { namespace: 'Rogue Labs/app-0', quotaBytes: 8 * KiB, vendor: 'Rogue Labs', vendorQuotaBytes: 8 * KiB }, () => {}).delete('k0');
  createKv(store, { namespace: 'Rogue Labs/app-5', quotaBytes: 8 * KiB, vendor: 'Rogue Labs', vendorQuotaBytes: 8 * KiB }, () => {}).set('k0', new Uint8Array(KiB));
  assert.ok(store.vendorUsage('Rogue Labs') <= 8 * KiB);
}));

test('two processes of one vendor racing the check: the quota holds for both together', withDb(async (file, db) => {
  new KvStore(db); // the tables exist before the writers start
  // Small values: thousands of transactions each, so the two writers overlap for seconds.
  const quota = 256 * KiB;
  const start = Date.now() + 3000; // both processes are up and waiting by then
  const run = (namespace: string) => new Promise<number>((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', writer, file, namespace, 'Rogue Labs', String(quota), String(start), '64'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`writer exited ${code}`))));
  });
  const [a, b] = await Promise.all([run('Rogue Labs/app-a'), run('Rogue Labs/app-b')]);
  const store = new KvStore(db);
  const used = store.vendorUsage('Rogue Labs');
  assert.ok(a > 0 && b > 0, `both wrote (${a}, ${b})`);
  assert.ok(used <= quota, `${used} bytes stored against a quota of ${quota} (${a} + ${b} values)`);
  assert.ok(quota - used < 64 + 6, 'and what fits is used');
  assert.is(used, store.usage('Rogue Labs/app-a') + store.usage('Rogue Labs/app-b'));
}));

test('a database from before: what its namespaces hold counts against the vendor at once', withDb((_file, db) => {
  db.exec(`CREATE TABLE kv_entries (namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (namespace, key));
    CREATE TABLE kv_usage (namespace TEXT PRIMARY KEY, bytes INTEGER NOT NULL);`);
  const put = db.prepare('INSERT INTO kv_entries VALUES (?, ?, ?)');
  const use = db.prepare('INSERT INTO kv_usage VALUES (?, ?)');
  for (const ns of ['Acme/X/one', 'Acme/X/two', 'Acme/three']) {
    put.run(ns, 'k', Buffer.alloc(5 * KiB - 1));
    use.run(ns, 5 * KiB);
  }
  const store = new KvStore(db);
  assert.is(store.vendorUsage('Acme/X'), 10 * KiB, 'a vendor name may hold a "/": the namespace name never does');
  assert.is(store.vendorUsage('Acme'), 5 * KiB);
  assert.throws(() => store.set('Acme/X/one', 'more', new Uint8Array(10), 8 * KiB, { vendor: 'Acme/X', quotaBytes: 8 * KiB }), (e: unknown) => e instanceof QuotaExceeded);
}));

test('a value being written counts as host memory for the call; one larger than the quota is refused before any copy', withDb((_file, db) => {
  const store = new KvStore(db);
  const ledger = new ResourceLedger({ ...UNLIMITED, hostBytes: 64 * KiB }, { vendor: new SharedArrayBuffer(24), device: DeviceFdBudget.create(10) });
  const audit: string[] = [];
  const resources = ledger.instance('a', (r, _a, reason) => audit.push(`${r}: ${reason}`));
  const kv = createKv(store, { namespace: 'V/a', quotaBytes: 1024 * KiB, vendor: 'V', vendorQuotaBytes: 1024 * KiB }, (d) => audit.push(`${d.capability}: ${d.reason}`), resources);
  const err = (fn: () => void) => { try { fn(); } catch (e) { return (e as { payload: { tag: string; val: string } }).payload; } return undefined; };
  assert.equal(err(() => kv.set('big', new Uint8Array(100 * KiB)))?.tag, 'io');
  assert.is(kv.get('big'), undefined, 'nothing written');
  assert.match(audit[0]!, /^host-memory: the vendor's host buffers would exceed 64 KiB|^host-memory: the vendor's host buffers would exceed 65536 bytes/);
  kv.set('small', new Uint8Array(8 * KiB));
  assert.is(ledger.usage().hostBytes, 0, 'given back after the write');
  const small = createKv(store, { namespace: 'V/b', quotaBytes: 4 * KiB, vendor: 'V', vendorQuotaBytes: 1024 * KiB }, (d) => audit.push(`${d.capability}: ${d.reason}`), resources);
  assert.equal(err(() => small.set('k', new Uint8Array(5 * KiB))), { tag: 'quota-exceeded', val: "a value of 5121 bytes (key included) is over the namespace's quota of 4096" });
}));

test.run();
