// Which deployments (and so which apps) the fleet manages on this device, in the state database.
// A row is written before anything is changed for its deployment and kept until its removal is
// complete, so after a kill at any point the next converge knows what it had begun: a row not in a
// final state is resumed, and an app the fleet installed is never mistaken for one installed by
// hand (and the other way round: an app with no row here is the operator's, never touched).
import type Database from 'better-sqlite3';
import type { DeploymentError, DeploymentState, DeploymentStatusReport } from './deployment-applier.js';
import type { DeploymentKind } from './package-match.js';

export interface FleetDeploymentRow {
  deploymentId: string;
  /** Digest of the ApplicationDeployment document being (or last) applied. */
  digest: string;
  /** Its metadata.name: the `source` of the deployment's status errors (Margo), also on removal. */
  name: string | null;
  /** The app this deployment owns on the device (claimed before it is installed). */
  appId: string | null;
  vendor: string | null;
  kind: DeploymentKind | null;
  /** Component names deployed (compose: each is an engine deployment to take down on removal). */
  components: string[];
  /**
   * The package digest the fleet installed (or is installing) for the app: recorded before the
   * install, so a removal uninstalls only exactly that package, never one the operator installed
   * over it by hand.
   */
  installedDigest: string | null;
  /** The installed package digest and parameter values the app was last deployed with. */
  packageDigest: string | null;
  parameters: Record<string, string> | null;
  state: DeploymentState;
  error: DeploymentError | null;
  /** The last status reported for it (a transition is reported only when it differs). */
  report: DeploymentStatusReport | null;
}

interface Row {
  deployment_id: string; digest: string; name: string | null; app_id: string | null; vendor: string | null; kind: string | null; components: string;
  installed_digest: string | null; package_digest: string | null; parameters: string | null; state: string; error: string | null; report: string | null;
}

export class AppClaimError extends Error {}

export class FleetRecords {
  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS fleet_deployments (
      deployment_id TEXT PRIMARY KEY, digest TEXT NOT NULL, name TEXT, app_id TEXT UNIQUE, vendor TEXT, kind TEXT,
      components TEXT NOT NULL DEFAULT '[]', installed_digest TEXT, package_digest TEXT, parameters TEXT, state TEXT NOT NULL,
      error TEXT, report TEXT, updated_at TEXT NOT NULL)`);
  }

  private toRow(r: Row): FleetDeploymentRow {
    return {
      deploymentId: r.deployment_id, digest: r.digest, name: r.name, appId: r.app_id, vendor: r.vendor, kind: r.kind as DeploymentKind | null,
      components: JSON.parse(r.components), installedDigest: r.installed_digest, packageDigest: r.package_digest, parameters: r.parameters ? JSON.parse(r.parameters) : null,
      state: r.state as DeploymentState, error: r.error ? JSON.parse(r.error) : null, report: r.report ? JSON.parse(r.report) : null,
    };
  }

  get(deploymentId: string): FleetDeploymentRow | undefined {
    const r = this.db.prepare('SELECT * FROM fleet_deployments WHERE deployment_id = ?').get(deploymentId) as Row | undefined;
    return r ? this.toRow(r) : undefined;
  }

  list(): FleetDeploymentRow[] {
    return (this.db.prepare('SELECT * FROM fleet_deployments ORDER BY deployment_id').all() as Row[]).map((r) => this.toRow(r));
  }

  /** The deployment that owns `appId`, if the fleet manages it. */
  ownerOf(appId: string): string | undefined {
    return (this.db.prepare('SELECT deployment_id FROM fleet_deployments WHERE app_id = ?').get(appId) as { deployment_id: string } | undefined)?.deployment_id;
  }

  /** Starts (or restarts) applying `digest` for the deployment: the row exists from here on. */
  begin(deploymentId: string, digest: string): void {
    this.db.prepare(`INSERT INTO fleet_deployments (deployment_id, digest, state, updated_at) VALUES (?, ?, 'pending', ?)
      ON CONFLICT(deployment_id) DO UPDATE SET digest = excluded.digest, state = 'pending', error = NULL, updated_at = excluded.updated_at`)
      .run(deploymentId, digest, new Date().toISOString());
  }

  /**
   * Claims `appId` for the deployment, in one IMMEDIATE transaction with the checks: no other
   * deployment owns it, and it is not installed unless this deployment already owned it (an app
   * installed by hand stays the operator's). `installedNow` reads the installed packages inside it.
   */
  claimApp(deploymentId: string, appId: string, vendor: string | null, kind: DeploymentKind, installedNow: (appId: string) => boolean): void {
    this.db.transaction(() => {
      const other = this.ownerOf(appId);
      if (other !== undefined && other !== deploymentId) throw new AppClaimError(`app ${appId} belongs to fleet deployment ${other}`);
      const mine = this.get(deploymentId);
      if (other === undefined && installedNow(appId)) {
        throw new AppClaimError(`app ${appId} was installed on this device by hand; the fleet does not take it over (uninstall it first to let the fleet manage it)`);
      }
      if (mine?.appId && mine.appId !== appId) throw new AppClaimError(`deployment ${deploymentId} still owns app ${mine.appId}; release it first`);
      this.db.prepare('UPDATE fleet_deployments SET app_id = ?, vendor = COALESCE(?, vendor), kind = ?, updated_at = ? WHERE deployment_id = ?')
        .run(appId, vendor, kind, new Date().toISOString(), deploymentId);
    }).immediate();
  }

  /** Forgets the app (after it was removed), so another deployment or the operator may use its id. */
  releaseApp(deploymentId: string): void {
    this.db.prepare(`UPDATE fleet_deployments SET app_id = NULL, vendor = NULL, kind = NULL, components = '[]', installed_digest = NULL, package_digest = NULL, parameters = NULL, updated_at = ?
      WHERE deployment_id = ?`).run(new Date().toISOString(), deploymentId);
  }

  setName(deploymentId: string, name: string): void {
    this.db.prepare('UPDATE fleet_deployments SET name = ? WHERE deployment_id = ?').run(name, deploymentId);
  }

  /** The package the fleet is about to install for the app (set before the install commits). */
  setInstalling(deploymentId: string, packageDigest: string): void {
    this.db.prepare('UPDATE fleet_deployments SET installed_digest = ?, updated_at = ? WHERE deployment_id = ?').run(packageDigest, new Date().toISOString(), deploymentId);
  }

  setVendor(deploymentId: string, vendor: string): void {
    this.db.prepare('UPDATE fleet_deployments SET vendor = ?, updated_at = ? WHERE deployment_id = ?').run(vendor, new Date().toISOString(), deploymentId);
  }

  /** What is deployed now: recorded before the engine or the daemon is asked, widened to the union, so removal finds everything. */
  setDeployed(deploymentId: string, components: string[], packageDigest: string | null, parameters: Record<string, string> | null): void {
    this.db.prepare('UPDATE fleet_deployments SET components = ?, package_digest = ?, parameters = ?, updated_at = ? WHERE deployment_id = ?')
      .run(JSON.stringify(components), packageDigest, parameters ? JSON.stringify(parameters) : null, new Date().toISOString(), deploymentId);
  }

  setState(deploymentId: string, state: DeploymentState, error: DeploymentError | null): void {
    this.db.prepare('UPDATE fleet_deployments SET state = ?, error = ?, updated_at = ? WHERE deployment_id = ?')
      .run(state, error ? JSON.stringify(error) : null, new Date().toISOString(), deploymentId);
  }

  setReport(deploymentId: string, report: DeploymentStatusReport): void {
    this.db.prepare('UPDATE fleet_deployments SET report = ? WHERE deployment_id = ?').run(JSON.stringify(report), deploymentId);
  }

  delete(deploymentId: string): void {
    this.db.prepare('DELETE FROM fleet_deployments WHERE deployment_id = ?').run(deploymentId);
  }
}
