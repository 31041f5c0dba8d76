// Stable error codes of the fleet apply side (documented in runtime/README.md; a test checks both
// directions). A deployment that fails carries one of these, or the code of the layer that refused
// it (a package code such as BH_ERR_SIG_WRONG_VENDOR or BH_ERR_APP_OWNED, a bridge code such as
// BH_ERR_POLICY), in its Margo status error.
import { PackageError } from '../../packages/package-errors.js';
import { boundedMessage, oneLine } from '../../packages/quote-value.js';
import { DeployError } from '../bridge/compose-deployer.js';
import { EngineError } from '../bridge/engine-connection.js';
import type { DeploymentError } from './deployment-applier.js';

export const FleetApplyErrorCode = {
  BH_ERR_FLEET_INVALID: 'an ApplicationDeployment is not valid YAML or breaks the schema of the Workload Management API 1.0.0-rc.3 (the message names the field)',
  BH_ERR_FLEET_UNSUPPORTED: 'the deployment asks for something this device does not run (a helm profile, an artifact that is not a signed Bulkhead package)',
  BH_ERR_FLEET_CONSTRAINT: "the device does not meet the deployment's deviceConstraints (capacity or eligibility rule; the message names it)",
  BH_ERR_FLEET_PACKAGE: 'the signed package does not match the deployment (another application id, a component or parameter it does not declare)',
  BH_ERR_FLEET_APP_CONFLICT: 'the app id is already used by an app installed by hand or by another fleet deployment; the fleet never takes it over',
  BH_ERR_FLEET_START: 'the installed wasm app did not start (or did not within the component timeout)',
  BH_ERR_FLEET_INTERNAL: 'applying the deployment failed unexpectedly (the message says why); retried at the next converge',
} as const;

export type FleetApplyErrorCodeName = keyof typeof FleetApplyErrorCode;

export class FleetApplyError extends Error {
  constructor(readonly code: FleetApplyErrorCodeName, message: string) {
    super(message);
  }
}

/** Codes whose cause may pass by itself (a registry or engine down): worth another try at the next converge. */
const TRANSIENT = new Set(['BH_ERR_OCI', 'BH_ERR_ENGINE', 'BH_ERR_FLEET_START', 'BH_ERR_FLEET_INTERNAL']);
export const isTransient = (e: DeploymentError): boolean => TRANSIENT.has(e.code);

/** Any error as a Margo status error: our code, the source the spec asks for, one bounded line. */
export function asDeploymentError(err: unknown, source: string): DeploymentError {
  const message = boundedMessage(oneLine((err as Error)?.message ?? String(err)), 1000);
  if (err instanceof FleetApplyError || err instanceof PackageError) return { code: err.code, source, message };
  if (err instanceof EngineError) return { code: 'BH_ERR_ENGINE', source, message };
  if (err instanceof DeployError) return { code: 'BH_ERR_DEPLOY', source, message };
  const coded = (err as { code?: unknown })?.code;
  if (typeof coded === 'string' && /^BH_ERR_[A-Z_]+$/.test(coded)) return { code: coded, source, message };
  return { code: 'BH_ERR_FLEET_INTERNAL', source, message };
}
