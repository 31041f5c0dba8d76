// The device trust store: which public keys may sign packages, for which vendor, in which role.
// Kept in the device's SQLite database. Removing forgets a key; revoking keeps it on record so
// anything it signed is refused with the reason, and it cannot be silently re-added.
import type Database from 'better-sqlite3';
import { encodePublicKeyBase64, keyIdHex, parsePublicKey, type PublicKey } from '../signing/minisign.js';
import { PackageError } from '../package-errors.js';
import { quoteValue } from '../quote-value.js';
import { vendorNameProblem } from './vendor-id.js';

export const SIGNER_ROLES = ['vendor', 'integrator'] as const;
export type SignerRole = (typeof SIGNER_ROLES)[number];

export interface TrustedKey {
  keyId: string;
  vendor: string;
  role: SignerRole;
  publicKey: string;
  addedAt: string;
  revokedAt: string | null;
  revokeReason: string | null;
}

interface Row { key_id: string; vendor: string; role: SignerRole; public_key: string; added_at: string; revoked_at: string | null; revoke_reason: string | null }

const toKey = (r: Row): TrustedKey => ({
  keyId: r.key_id, vendor: r.vendor, role: r.role, publicKey: r.public_key,
  addedAt: r.added_at, revokedAt: r.revoked_at, revokeReason: r.revoke_reason,
});

export class TrustStore {
  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS trusted_keys (
      key_id TEXT PRIMARY KEY,
      vendor TEXT NOT NULL,
      role TEXT NOT NULL CHECK (role IN ('vendor', 'integrator')),
      public_key TEXT NOT NULL,
      added_at TEXT NOT NULL,
      revoked_at TEXT,
      revoke_reason TEXT
    )`);
  }

  add(publicKeyText: string, vendor: string, role: SignerRole = 'vendor'): TrustedKey {
    let key: PublicKey;
    try {
      key = parsePublicKey(publicKeyText);
    } catch (err) {
      throw new PackageError('BH_ERR_TRUST_INPUT', (err as Error).message);
    }
    if (!vendor.trim()) throw new PackageError('BH_ERR_TRUST_INPUT', 'a vendor name is required');
    if (!SIGNER_ROLES.includes(role)) throw new PackageError('BH_ERR_TRUST_INPUT', `role ${quoteValue(role)}: expected one of ${SIGNER_ROLES.join(', ')}`);
    const id = keyIdHex(key.keyId);
    const existing = this.get(id);
    const vendors = [...new Set(this.list().map((k) => k.vendor))];
    const problem = vendors.includes(vendor) ? undefined : vendorNameProblem(vendor, vendors);
    if (problem) throw new PackageError('BH_ERR_TRUST_INPUT', `vendor name ${quoteValue(vendor)} ${problem}`);
    if (existing?.revokedAt) {
      throw new PackageError('BH_ERR_TRUST_INPUT', `key ${id} was revoked on ${existing.revokedAt} (${existing.revokeReason ?? 'no reason given'}); remove it first to trust it again`);
    }
    if (existing && (existing.vendor !== vendor || existing.role !== role || existing.publicKey !== encodePublicKeyBase64(key))) {
      throw new PackageError('BH_ERR_TRUST_INPUT', `key id ${id} is already trusted for ${existing.vendor} (${existing.role}); remove it first`);
    }
    if (!existing) {
      this.db.prepare('INSERT INTO trusted_keys (key_id, vendor, role, public_key, added_at) VALUES (?, ?, ?, ?, ?)')
        .run(id, vendor, role, encodePublicKeyBase64(key), new Date().toISOString());
    }
    return this.get(id)!;
  }

  get(keyId: string): TrustedKey | undefined {
    const row = this.db.prepare('SELECT * FROM trusted_keys WHERE key_id = ?').get(keyId.toUpperCase()) as Row | undefined;
    return row ? toKey(row) : undefined;
  }

  list(): TrustedKey[] {
    return (this.db.prepare('SELECT * FROM trusted_keys ORDER BY vendor, key_id').all() as Row[]).map(toKey);
  }

  remove(keyId: string): void {
    const result = this.db.prepare('DELETE FROM trusted_keys WHERE key_id = ?').run(keyId.toUpperCase());
    if (result.changes === 0) throw new PackageError('BH_ERR_TRUST_INPUT', `no trusted key with id ${keyId}`);
  }

  revoke(keyId: string, reason: string): TrustedKey {
    const result = this.db.prepare('UPDATE trusted_keys SET revoked_at = ?, revoke_reason = ? WHERE key_id = ? AND revoked_at IS NULL')
      .run(new Date().toISOString(), reason || null, keyId.toUpperCase());
    if (result.changes === 0) {
      const existing = this.get(keyId);
      throw new PackageError('BH_ERR_TRUST_INPUT', existing ? `key ${keyId} is already revoked` : `no trusted key with id ${keyId}`);
    }
    return this.get(keyId)!;
  }

  publicKeyOf(entry: TrustedKey): PublicKey {
    return parsePublicKey(entry.publicKey);
  }
}
