// A DeploymentStatusManifest (rc.3 schema) from the applier's report: the link adds the device id
// and the manifest version the device had adopted when the transition happened. manifestVersion is
// a u64, so it is written from its exact text (lossless-json), never through a JS number.
import { LosslessNumber, stringify } from 'lossless-json';
import type { DeploymentStatusReport } from './deployment-applier.js';

export function statusManifest(report: DeploymentStatusReport, deviceId: string, adoptedManifestVersion: bigint): string {
  const doc = {
    deploymentId: report.deploymentId,
    deviceId,
    adoptedManifestVersion: new LosslessNumber(adoptedManifestVersion.toString()),
    status: { state: report.state, ...(report.error ? { error: report.error } : {}) },
    components: report.components.map((c) => ({ name: c.name, state: c.state, ...(c.error ? { error: c.error } : {}) })),
  };
  return stringify(doc) ?? '{}';
}
