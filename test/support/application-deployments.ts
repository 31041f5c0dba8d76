// ApplicationDeployment documents (Workload Management API 1.0.0-rc.3) for fleet tests, as a WFM
// would serve them: YAML bytes plus the sha256 digest the link side verified them under.
import { createHash } from 'node:crypto';
import YAML from 'yaml';
import type { AdoptedDeployment } from '../../runtime/fleet/deployment-applier.js';

export interface DeploymentSpec {
  id: string;
  deviceId?: string;
  applicationId: string;
  type?: string;
  repository: string;
  revision?: string;
  components: string[];
  parameters?: Record<string, { value: unknown; targets: { pointer: string; components: string[] }[] }>;
  deviceConstraints?: unknown;
  timeout?: string;
}

export function deploymentDocument(s: DeploymentSpec): Record<string, unknown> {
  return {
    apiVersion: 'application.margo.org/v1alpha1',
    kind: 'ApplicationDeployment',
    metadata: {
      annotations: { id: s.id, applicationId: s.applicationId },
      name: `${s.applicationId}-deployment`, namespace: 'bulkhead-test', deviceId: s.deviceId ?? 'test-device',
    },
    spec: {
      applicationId: s.applicationId,
      deploymentProfile: {
        type: s.type ?? 'custom',
        components: s.components.map((name) => ({
          name, properties: { repository: s.repository, revision: s.revision ?? '1.0.0', ...(s.timeout ? { timeout: s.timeout } : {}) },
        })),
        ...(s.deviceConstraints ? { deviceConstraints: s.deviceConstraints } : {}),
      },
      ...(s.parameters ? { parameters: s.parameters } : {}),
    },
  };
}

export function adopted(deploymentId: string, doc: unknown | string): AdoptedDeployment {
  const document = Buffer.from(typeof doc === 'string' ? doc : YAML.stringify(doc));
  return { deploymentId, document, digest: `sha256:${createHash('sha256').update(document).digest('hex')}` };
}

export const adoptedSpec = (s: DeploymentSpec): AdoptedDeployment => adopted(s.id, deploymentDocument(s));
