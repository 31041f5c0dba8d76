// bulkhead:host/kv for one app: its namespace and quota come from the grant; without a kv grant
// every call is denied. Every refusal (no grant, a key out of bounds, the quota) is audited.
import { auditedText, type AuditSink } from './audit.js';
import { GuestError } from '../wasi-p2/errors.js';
import { KvStore, MAX_KEY_BYTES, QuotaExceeded } from './kv-store.js';
import { ResourceLimitError, type InstanceResources } from '../limits/resource-ledger.js';

/** `vendor`/`vendorQuotaBytes`: the one quota of all the vendor's namespaces (absent: the namespace's alone). */
export interface KvGrant { namespace: string; quotaBytes: number; vendor?: string; vendorQuotaBytes?: number }

/**
 * `resources`: a value on its way to the database is held by the host meanwhile (copied for
 * SQLite), so it counts against the vendor's host memory for the call's duration.
 */
export function createKv(store: KvStore, grant: KvGrant | undefined, audit: AuditSink, resources?: InstanceResources) {
  const fail = (tag: string, val: string) => new GuestError({ tag, val });
  function check(op: string, key: string): KvGrant {
    if (!grant) {
      audit({ capability: 'kv', attempted: `${op} ${auditedText(key)}`, reason: 'the app has no kv grant' });
      throw fail('denied', 'this app has no kv grant');
    }
    if (op !== 'list-keys' && (key.length === 0 || Buffer.byteLength(key) > MAX_KEY_BYTES)) {
      audit({ capability: 'kv', attempted: `${op} ${auditedText(key)}`, reason: `a key must be 1 to ${MAX_KEY_BYTES} bytes, this one is ${Buffer.byteLength(key)}` });
      throw fail('invalid', `keys must be 1 to ${MAX_KEY_BYTES} bytes`);
    }
    return grant;
  }
  function io<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof GuestError) throw err;
      throw fail('io', (err as Error).message);
    }
  }
  return {
    get(key: string): Uint8Array | undefined {
      const g = check('get', key);
      return io(() => store.get(g.namespace, key));
    },
    set(key: string, value: Uint8Array): void {
      const g = check('set', key);
      const size = Buffer.byteLength(key) + value.length;
      io(() => {
        try {
          // Larger than the whole quota: refused before the value is copied anywhere.
          if (size > g.quotaBytes) throw new QuotaExceeded(`a value of ${size} bytes (key included) is over the namespace's quota of ${g.quotaBytes}`);
          resources?.takeBytes(value.length, 'a kv value being written');
        } catch (err) {
          if (err instanceof QuotaExceeded) {
            audit({ capability: 'kv.quota', attempted: `set ${auditedText(key)} (${value.length} bytes)`, reason: err.message });
            throw fail('quota-exceeded', err.message);
          }
          if (err instanceof ResourceLimitError) throw fail('io', err.message); // audited by the ledger
          throw err;
        }
        try {
          store.set(g.namespace, key, value, g.quotaBytes, g.vendor === undefined ? undefined : { vendor: g.vendor, quotaBytes: g.vendorQuotaBytes ?? g.quotaBytes });
        } catch (err) {
          if (!(err instanceof QuotaExceeded)) throw err;
          audit({ capability: 'kv.quota', attempted: `set ${auditedText(key)} (${value.length} bytes)`, reason: err.message });
          throw fail('quota-exceeded', err.message);
        } finally {
          resources?.freeBytes(value.length);
        }
      });
    },
    delete(key: string): void {
      const g = check('delete', key);
      io(() => store.delete(g.namespace, key));
    },
    listKeys(prefix: string): string[] {
      const g = check('list-keys', prefix);
      return io(() => store.keys(g.namespace, prefix));
    },
  };
}
