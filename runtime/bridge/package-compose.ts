// One Compose component of an installed package, brought up or down on the engine: the same steps
// `bulkhead compose up --app` takes (archive re-checked and unpacked where only the daemon writes,
// parameters as environment variables and interpolation values, the vendor's isolation policy,
// the project directory made beneath the vendor's root, image archives loaded), for callers that
// are not the command line (the fleet applier). Engine objects get the same names as the
// command's, so `bulkhead compose ps --app APP` shows what the fleet deployed.
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { makeDirectoryBeneath, OutsideRootError } from '../../host-apis/capabilities/directory-handle.js';
import { ArchiveError } from '../../packages/archive/archive-limits.js';
import type { InstalledPackage } from '../../packages/install/installed-packages.js';
import { vendorId, type VendorId } from '../../packages/trust/vendor-id.js';
import type { DevicePolicy } from '../state/device-policy.js';
import { deploymentName, vendorDirName, vendorNetworkName } from '../state/vendor-names.js';
import { composeDown, composeUp, DeployError, type UpResult } from './compose-deployer.js';
import { ComposeError, loadComposeText } from './compose-file.js';
import { InterpolationError, parseDotEnv } from './compose-interpolation.js';
import { applyContainerPolicy } from './container-policy.js';
import type { DeploymentIdentity } from './container-spec.js';
import { loadImageArchive } from './image-archives.js';
import { composeComponent, PackageDeploymentError, withParameterEnvironment } from './package-deployment.js';
import { containerPolicyFor } from './vendor-policy.js';

/** The isolation policy refused the file; nothing was created. */
export class ComposePolicyError extends Error {
  readonly code = 'BH_ERR_POLICY';
}

/** The engine identity of an installed app's compose component (as `compose up --app APP --component C`). */
export function packageComposeIdentity(vendor: VendorId, appId: string, component: string): DeploymentIdentity {
  const project = `${appId}-${component}`;
  return { vendor, project, app: appId, deployment: deploymentName(vendor, project), network: vendorNetworkName(vendor) };
}

export interface PackageComposeTarget {
  dataDir: string;
  policy: DevicePolicy;
  pkg: InstalledPackage;
  component: string;
  /** Deployment parameter values by name (the package's targets decide which variables they set). */
  parameters: Record<string, string>;
  onEvent?: (message: string) => void;
}

/** Brings the component up (idempotent: unchanged services stay). Errors are DeployError, ComposePolicyError or EngineError-like. */
export async function upPackageComponent(docker: Docker, target: PackageComposeTarget): Promise<UpResult> {
  const { dataDir, pkg } = target;
  const vendor = vendorId(pkg.vendor);
  let loaded;
  let component;
  try {
    // Unpacked where only the daemon writes: a vendor's apps could plant links in its own root.
    component = composeComponent(pkg.path, target.component, target.parameters, path.join(dataDir, 'compose-packages', vendorDirName(vendor), `${pkg.appId}-${target.component}`));
    const sourceDir = path.dirname(component.composeFile);
    const dotEnv = path.join(sourceDir, '.env');
    const variables = { ...(fs.existsSync(dotEnv) ? parseDotEnv(fs.readFileSync(dotEnv, 'utf8'), dotEnv) : {}), ...component.environment };
    const text = fs.readFileSync(component.composeFile, 'utf8');
    const raw = loadComposeText(text, component.composeFile, variables);
    loaded = { ...raw, file: withParameterEnvironment(raw.file, component.environment) };
  } catch (err) {
    if (err instanceof PackageDeploymentError || err instanceof ArchiveError || err instanceof ComposeError || err instanceof InterpolationError) {
      throw new DeployError(`${pkg.appId}/${target.component}: ${err.message}`);
    }
    throw err;
  }
  const policy = containerPolicyFor(vendor, target.policy, dataDir);
  const identity = packageComposeIdentity(vendor, pkg.appId, target.component);
  const projectDir = path.join(policy.dataRoot, 'deployments', identity.project);
  const { violations, services } = applyContainerPolicy(loaded.file, policy, projectDir);
  if (violations.length) throw new ComposePolicyError(`refused by ${vendor}'s isolation policy: ${violations.map((v) => `[${v.rule}] ${v.message}`).join('; ')}`);
  try {
    makeDirectoryBeneath(policy.dataRoot, projectDir);
  } catch (err) {
    if (err instanceof OutsideRootError) throw new DeployError(`${err.message}; remove the link and deploy again`);
    throw err;
  }
  for (const archive of component.imageArchives) {
    const image = await loadImageArchive(docker, archive).catch((err: Error) => { throw new DeployError(err.message); });
    target.onEvent?.(`loaded ${image}`);
  }
  return composeUp({
    docker, identity, compose: loaded.file, enforced: services, projectDir, sourceDir: path.dirname(component.composeFile),
    vendorRoot: policy.dataRoot, secretsDir: path.join(dataDir, 'compose-secrets', identity.deployment), onEvent: target.onEvent,
  });
}

/** Removes exactly what the component's deployment owns (containers, volumes). */
export function downPackageComponent(docker: Docker, vendor: VendorId, appId: string, component: string): Promise<string[]> {
  return composeDown(docker, packageComposeIdentity(vendor, appId, component));
}
