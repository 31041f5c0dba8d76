// A DeploymentApplier that only records what the fleet link hands it and reports the transitions a
// real one would (pending -> installing -> installed; removing -> removed for what left the list),
// for tests of the link alone.
import type { AdoptedDeployment, DeploymentApplier, DeploymentStatusReport } from '../../runtime/fleet/deployment-applier.js';

export class RecordingApplier implements DeploymentApplier {
  readonly calls: Array<Array<{ deploymentId: string; digest: string; document: string }>> = [];
  private present = new Set<string>();

  async converge(deployments: readonly AdoptedDeployment[], onStatus: (r: DeploymentStatusReport) => void): Promise<void> {
    this.calls.push(deployments.map((d) => ({ deploymentId: d.deploymentId, digest: d.digest, document: d.document.toString('utf8') })));
    const wanted = new Set(deployments.map((d) => d.deploymentId));
    for (const id of this.present) {
      if (wanted.has(id)) continue;
      onStatus({ deploymentId: id, state: 'removing', components: [] });
      onStatus({ deploymentId: id, state: 'removed', components: [] });
    }
    for (const d of deployments) {
      if (this.present.has(d.deploymentId)) continue;
      onStatus({ deploymentId: d.deploymentId, state: 'pending', components: [{ name: 'main', state: 'pending' }] });
      onStatus({ deploymentId: d.deploymentId, state: 'installed', components: [{ name: 'main', state: 'installed' }] });
    }
    this.present = wanted;
  }

  get last(): Array<{ deploymentId: string; digest: string; document: string }> | undefined {
    return this.calls[this.calls.length - 1];
  }
}
