// The seam between the two halves of the Margo WFM client. The link side (talking to the fleet
// manager: identity, polling, digests, rollback protection, status and capability reports) hands
// every adopted manifest's deployments to a DeploymentApplier; the apply side (validating each
// ApplicationDeployment, checking device constraints, pulling signed packages from OCI, installing
// and deploying them, removing what left the manifest) converges the device and tells the link side
// each state transition, which it reports to the WFM.

/** Component and deployment states of Margo's DeploymentStatusManifest (deployment-status.md). */
export type DeploymentState = 'pending' | 'installing' | 'installed' | 'failed' | 'removing' | 'removed';

/** Margo's status error object: `code` is ours (a BH_ERR_* code), `source` names the component or field. */
export interface DeploymentError {
  code: string;
  source: string;
  message: string;
}

export interface ComponentStatus {
  name: string;
  state: DeploymentState;
  error?: DeploymentError;
}

/** One deployment's status as the device sees it; the link side adds deviceId and adoptedManifestVersion. */
export interface DeploymentStatusReport {
  deploymentId: string;
  /** The most severe of the component states (failed > removing > installing > pending > installed > removed). */
  state: DeploymentState;
  error?: DeploymentError;
  components: ComponentStatus[];
}

/** A deployment of an adopted manifest: its id, the digest it was fetched under, and the exact bytes verified against it. */
export interface AdoptedDeployment {
  deploymentId: string;
  /** `sha256:<64 lowercase hex>` of `document`. */
  digest: string;
  /** The ApplicationDeployment YAML exactly as fetched (the digest was checked over these bytes). */
  document: Buffer;
}

export interface DeploymentApplier {
  /**
   * Make the device run exactly these deployments (from fleet-managed state; apps installed by hand
   * are not touched) and remove fleet deployments that are not in the list. Idempotent: calling it
   * again with the same list changes nothing and reports nothing new. One failing deployment never
   * stops the others. Resolves when every deployment has reached installed, failed or removed.
   * `onStatus` is called on every transition, in order, per deployment.
   */
  converge(
    deployments: readonly AdoptedDeployment[],
    onStatus: (report: DeploymentStatusReport) => void,
    signal?: AbortSignal,
  ): Promise<void>;
}
