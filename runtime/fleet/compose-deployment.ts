// A fleet deployment's compose components go through the bridge exactly as `bulkhead compose up
// --app APP --component C --param ...` and the management API's /v1/compose/up do (one path:
// bridge/compose-request.ts prepares, bridge/compose-verbs.ts acts), so the vendor's isolation
// policy, the parameters-as-environment rule and the engine names are the same; `compose ps --app
// APP` shows what the fleet deployed.
import { vendorId, type VendorId } from '../../packages/trust/vendor-id.js';
import { composeDown } from '../bridge/compose-deployer.js';
import { ComposeRequestError, prepareCompose, type DeviceForCompose } from '../bridge/compose-request.js';
import { composeUpVerb, ComposeVerbError, engine, type ComposeUpResult } from '../bridge/compose-verbs.js';
import type { DeploymentIdentity } from '../bridge/container-spec.js';
import { deploymentName, vendorNetworkName } from '../state/vendor-names.js';

/** The engine identity `prepareCompose` gives an installed app's component (project `<app>-<component>`). */
export function componentIdentity(vendor: VendorId, appId: string, component: string): DeploymentIdentity {
  const project = `${appId}-${component}`;
  return { vendor, project, app: appId, deployment: deploymentName(vendor, project), network: vendorNetworkName(vendor) };
}

/** Brings the component up with these parameter values (by name); idempotent, as `compose up` is. */
export async function upComposeComponent(device: DeviceForCompose, appId: string, component: string, params: Record<string, string>,
  options: { host?: string; onEvent?: (message: string) => void } = {}): Promise<ComposeUpResult> {
  let prepared;
  try {
    prepared = prepareCompose({ app: appId, component, params }, device);
  } catch (err) {
    // The package's own compose file or archive cannot be deployed as it is.
    if (err instanceof ComposeRequestError) throw new ComposeVerbError('BH_ERR_DEPLOY', `${appId}/${component}: ${err.message}`);
    throw err;
  }
  return composeUpVerb(prepared, { dataDir: device.dataDir, host: options.host, onEvent: options.onEvent });
}

/** Removes exactly what the component's deployment owns (by its exact vendor and project labels). */
export async function downComposeComponent(vendor: string, appId: string, component: string, host?: string): Promise<string[]> {
  return composeDown(await engine(host), componentIdentity(vendorId(vendor), appId, component));
}
