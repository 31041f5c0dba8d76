// A Compose component of an installed package, ready for the bridge: its archive re-checked and
// unpacked under the vendor's data root, and the deployment parameters applied the Margo way (a
// parameter's targets[].pointer names an environment variable of the listed components).
import fs from 'node:fs';
import path from 'node:path';
import { checkComposeArchive } from '../../packages/archive/compose-archive.js';
import { extractArchive } from '../../packages/archive/safe-archive.js';
import { parseApplicationDescription, vendorOf, type ApplicationDescription } from '../../packages/manifest/application-description.js';
import type { ComposeFile } from './compose-file.js';
import { quoteValue } from '../../packages/quote-value.js';

export class PackageDeploymentError extends Error {}

export interface ComposeComponent {
  manifest: ApplicationDescription;
  vendor: string;
  component: string;
  composeFile: string;
  imageArchives: string[];
  /** pointer -> value, for this component. */
  environment: Record<string, string>;
}

export function composeComponent(packageDir: string, component: string | undefined, overrides: Record<string, string>, unpackRoot: string): ComposeComponent {
  const manifest = parseApplicationDescription(fs.readFileSync(path.join(packageDir, 'margo.yaml'), 'utf8'), 'margo.yaml');
  const components = manifest.deploymentProfiles.filter((p) => p.type === 'compose').flatMap((p) => p.components);
  if (components.length === 0) throw new PackageDeploymentError(`${manifest.metadata.id} has no compose deployment profile`);
  const chosen = component ? components.find((c) => c.name === component) : components.length === 1 ? components[0] : undefined;
  if (!chosen) {
    throw new PackageDeploymentError(component
      ? `${manifest.metadata.id} has no compose component ${quoteValue(component)} (it has: ${components.map((c) => c.name).join(', ')})`
      : `${manifest.metadata.id} has several compose components; choose one with --component (${components.map((c) => c.name).join(', ')})`);
  }
  const props = (chosen.properties ?? {}) as { archive?: string; images?: string[] };
  if (!props.archive) throw new PackageDeploymentError(`compose component ${chosen.name} names no archive in the package (registry-only components are not deployable offline)`);
  const archive = path.join(packageDir, props.archive);
  const entries = checkComposeArchive(archive, chosen.name, `${manifest.metadata.id}:${props.archive}`);
  fs.rmSync(unpackRoot, { recursive: true, force: true });
  extractArchive(archive, unpackRoot, entries);
  for (const name of Object.keys(overrides)) {
    if (!manifest.parameters?.[name]) throw new PackageDeploymentError(`--param ${name}: ${manifest.metadata.id} declares no parameter ${quoteValue(name)}`);
  }
  const environment: Record<string, string> = {};
  for (const [name, parameter] of Object.entries(manifest.parameters ?? {})) {
    const value = overrides[name] ?? (parameter.value === undefined ? undefined : String(parameter.value));
    if (value === undefined) continue;
    for (const target of parameter.targets ?? []) {
      if (target.components.includes(chosen.name)) environment[target.pointer] = value;
    }
  }
  return {
    manifest, vendor: vendorOf(manifest), component: chosen.name,
    composeFile: path.join(unpackRoot, chosen.name, 'compose.yaml'),
    imageArchives: (props.images ?? []).map((i) => path.join(packageDir, i)), environment,
  };
}

/** Sets each pointer as an environment variable of every service (the component's services). */
export function withParameterEnvironment(file: ComposeFile, environment: Record<string, string>): ComposeFile {
  if (Object.keys(environment).length === 0) return file;
  const services = Object.fromEntries(Object.entries(file.services).map(([name, s]) => {
    if (!s || typeof s !== 'object') return [name, s];
    const current = s.environment;
    const map: Record<string, unknown> = Array.isArray(current)
      ? Object.fromEntries((current as string[]).map((e) => { const i = e.indexOf('='); return i < 0 ? [e, null] : [e.slice(0, i), e.slice(i + 1)]; }))
      : { ...((current as Record<string, unknown> | undefined) ?? {}) };
    return [name, { ...s, environment: { ...map, ...environment } }];
  }));
  return { ...file, services };
}
