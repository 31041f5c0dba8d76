// Does the signed package fit the deployment that asks for it? The package (signed by its vendor)
// is the authority on what the app is and where its parameters go; the WFM only chooses which
// app, which components and which values. So the application id, the version, the components and
// every parameter target the deployment names must be the package's own: a WFM (or whoever
// controls the desired state) cannot point a value at a configuration key or environment variable
// the vendor never exposed.
import { WASM_PROFILE_TYPE, type ApplicationDescription } from '../../packages/manifest/application-description.js';
import { quoteValue } from '../../packages/quote-value.js';
import { FleetApplyError } from './apply-errors.js';
import { parameterText, type ApplicationDeployment } from './application-deployment.js';

export type DeploymentKind = 'wasm' | 'compose';

/** Margo's deployment profile types this device runs, and which package profile serves each. */
export function deploymentKind(type: string): DeploymentKind {
  if (type === 'compose') return 'compose';
  // Margo's extensibility: a non-Margo runtime is `custom`; our own profile name is accepted too.
  if (type === 'custom' || type === WASM_PROFILE_TYPE) return 'wasm';
  throw new FleetApplyError('BH_ERR_FLEET_UNSUPPORTED', `spec.deploymentProfile.type: ${quoteValue(type)} is not run on this device (it runs compose, and custom or ${WASM_PROFILE_TYPE} for WebAssembly apps)`);
}

/** The revision as the package's version: Margo writes SemVer build metadata after `_` (OCI tags cannot hold `+`). */
export function revisionVersion(revision: string): string {
  return revision.replace('_', '+');
}

const mismatch = (message: string) => new FleetApplyError('BH_ERR_FLEET_PACKAGE', message);

/**
 * Checks the verified package against the deployment; returns the parameter values by name, as
 * the app's configuration and the compose bridge take them.
 */
export function matchPackage(d: ApplicationDeployment, manifest: ApplicationDescription): Record<string, string> {
  const kind = deploymentKind(d.spec.deploymentProfile.type);
  const { id, version } = manifest.metadata;
  if (id !== d.spec.applicationId) throw mismatch(`spec.applicationId: the deployment asks for ${quoteValue(d.spec.applicationId)}, the package is ${quoteValue(id)}`);
  const revision = d.spec.deploymentProfile.components[0]!.properties.revision;
  if (revisionVersion(revision) !== version) {
    throw mismatch(`spec.deploymentProfile.components[0].properties.revision: ${quoteValue(revision)} holds ${id} version ${quoteValue(version)}`);
  }
  const profileType = kind === 'wasm' ? WASM_PROFILE_TYPE : 'compose';
  const offered = new Set(manifest.deploymentProfiles.filter((p) => p.type === profileType).flatMap((p) => p.components.map((c) => c.name)));
  if (offered.size === 0) throw mismatch(`spec.deploymentProfile.type: package ${id} has no ${profileType} deployment profile`);
  const named = d.spec.deploymentProfile.components.map((c) => c.name);
  named.forEach((name, i) => {
    if (!offered.has(name)) throw mismatch(`spec.deploymentProfile.components[${i}].name: package ${id} has no ${profileType} component ${quoteValue(name)} (it has: ${[...offered].join(', ')})`);
  });
  // A wasm app runs all of its profile's components: the deployment must name them all, so the
  // status it reports covers everything that runs.
  if (kind === 'wasm') {
    const missing = [...offered].filter((n) => !named.includes(n));
    if (missing.length) throw mismatch(`spec.deploymentProfile.components: package ${id} runs ${missing.map((m) => quoteValue(m)).join(', ')} too; list every component of its ${profileType} profile`);
  }
  const values: Record<string, string> = {};
  for (const [name, parameter] of Object.entries(d.spec.parameters ?? {})) {
    const declared = manifest.parameters?.[name];
    if (!declared) throw mismatch(`spec.parameters.${name}: package ${id} declares no parameter ${quoteValue(name)}`);
    parameter.targets.forEach((t, i) => t.components.forEach((c, j) => {
      const allowed = (declared.targets ?? []).some((dt) => dt.pointer === t.pointer && dt.components.includes(c));
      if (!allowed) throw mismatch(`spec.parameters.${name}.targets[${i}].components[${j}]: package ${id} does not put ${name} at ${quoteValue(t.pointer)} of ${quoteValue(c)}`);
    }));
    values[name] = parameterText(parameter.value);
  }
  return values;
}
