// The last adopted desired state, durable in SQLite: the manifest (its version, ETag and exact
// bytes) and each deployment's exact verified YAML. Written in one transaction BEFORE the applier
// acts on it, so (1) a replayed or older manifest is refused even after a crash mid-deployment,
// and (2) after a restart with the fleet manager unreachable the daemon hands the same deployments
// to the applier again (offline first). manifestVersion is a u64, beyond SQLite's signed INTEGER,
// so it is stored as its decimal text and compared as a BigInt.
import type Database from 'better-sqlite3';
import type { AdoptedDeployment } from './deployment-applier.js';
import { FleetError } from './fleet-errors.js';

export interface AdoptedManifest {
  manifestVersion: bigint;
  etag: string;
  adoptedAt: number;
}

export class AdoptedState {
  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS fleet_adopted_manifest (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        manifest_version TEXT NOT NULL,
        etag TEXT NOT NULL,
        body BLOB NOT NULL,
        adopted_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS fleet_adopted_deployments (
        deployment_id TEXT PRIMARY KEY,
        position INTEGER NOT NULL,
        digest TEXT NOT NULL,
        document BLOB NOT NULL
      );
    `);
  }

  manifest(): AdoptedManifest | undefined {
    const row = this.db.prepare('SELECT manifest_version, etag, adopted_at FROM fleet_adopted_manifest WHERE id = 1').get() as
      { manifest_version: string; etag: string; adopted_at: number } | undefined;
    return row ? { manifestVersion: BigInt(row.manifest_version), etag: row.etag, adoptedAt: row.adopted_at } : undefined;
  }

  deployments(): AdoptedDeployment[] {
    const rows = this.db.prepare('SELECT deployment_id, digest, document FROM fleet_adopted_deployments ORDER BY position').all() as
      Array<{ deployment_id: string; digest: string; document: Buffer }>;
    return rows.map((r) => ({ deploymentId: r.deployment_id, digest: r.digest, document: r.document }));
  }

  /**
   * Adopts a manifest and its deployments atomically. The version check is repeated inside the
   * transaction: whatever raced, the stored version only ever grows.
   */
  adopt(manifestVersion: bigint, etag: string, body: Buffer, deployments: readonly AdoptedDeployment[]): void {
    this.db.transaction(() => {
      const current = this.manifest();
      if (current && manifestVersion <= current.manifestVersion) {
        throw new FleetError('BH_ERR_FLEET_ROLLBACK', `manifestVersion ${manifestVersion} is not greater than the adopted ${current.manifestVersion}; refused`);
      }
      this.db.prepare('INSERT OR REPLACE INTO fleet_adopted_manifest (id, manifest_version, etag, body, adopted_at) VALUES (1, ?, ?, ?, ?)')
        .run(manifestVersion.toString(), etag, body, Date.now());
      this.db.prepare('DELETE FROM fleet_adopted_deployments').run();
      const insert = this.db.prepare('INSERT INTO fleet_adopted_deployments (deployment_id, position, digest, document) VALUES (?, ?, ?, ?)');
      deployments.forEach((d, i) => insert.run(d.deploymentId, i, d.digest, d.document));
    })();
  }

  /** `fleet leave`: a new relationship starts again at manifestVersion 1. */
  forget(): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM fleet_adopted_manifest').run();
      this.db.prepare('DELETE FROM fleet_adopted_deployments').run();
    })();
  }
}
