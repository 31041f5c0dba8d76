// What a compose verb acts on, however the request arrived: built from CLI flags on the device, or
// received as a JSON body by the management API. Both paths hand the same ComposeRequest to
// prepareCompose, so a Compose file is loaded, interpolated and checked against the vendor's
// isolation policy by one piece of code, and a violation is refused alike over either path.
import fs from 'node:fs';
import path from 'node:path';
import { ArchiveError } from '../../packages/archive/archive-limits.js';
import type { InstalledPackages } from '../../packages/install/installed-packages.js';
import { quoteValue } from '../../packages/quote-value.js';
import { vendorId, type VendorId } from '../../packages/trust/vendor-id.js';
import type { DevicePolicy } from '../state/device-policy.js';
import { deploymentName, vendorDirName, vendorNetworkName } from '../state/vendor-names.js';
import { applyProfiles, ComposeError, loadComposeText, type LoadedCompose } from './compose-file.js';
import { InterpolationError, parseDotEnv } from './compose-interpolation.js';
import { undeclaredVolumeViolations } from './engine-volumes.js';
import { applyContainerPolicy, type EnforcedService, type VendorContainerPolicy, type Violation } from './container-policy.js';
import type { DeploymentIdentity } from './container-spec.js';
import { composeComponent, PackageDeploymentError, withParameterEnvironment } from './package-deployment.js';
import { containerPolicyFor } from './vendor-policy.js';

/** A Compose file sent as text (`-f FILE --vendor NAME`). */
export interface ComposeFileSource {
  /** The file's name as the requester knows it (used in messages only, never opened). */
  name: string;
  text: string;
  /** The name of the directory it came from: the project name when the file has no `name:`. */
  directoryName: string;
  /** File secrets and configs the file declares, by their path relative to the file (base64). */
  files?: Record<string, string>;
}

export interface ComposeRequest {
  /** Either a file and the vendor whose policy applies ... */
  file?: ComposeFileSource;
  vendor?: string;
  /** ... or the compose component of an installed package. */
  app?: string;
  component?: string;
  /** With file: variables for ${...}; with app: deployment parameter values. */
  params?: Record<string, string>;
  profiles?: string[];
  /** A .env file's text (default: the .env beside the compose file, if any). */
  env?: { name: string; text: string };
}

/** The request is wrong (not a policy violation): a usage error for the CLI, a 400 for the API. */
export class ComposeRequestError extends Error {}

export interface DeviceForCompose { dataDir: string; installed: InstalledPackages; policy: DevicePolicy }

export interface PreparedCompose {
  loaded: LoadedCompose;
  policy: VendorContainerPolicy;
  violations: Violation[];
  services: EnforcedService[];
  identity: DeploymentIdentity;
  projectDir: string;
  /** Where the file's secrets and configs are read from. */
  sourceDir: string;
  vendor: VendorId;
  /** The file's name for messages. */
  file: string;
  imageArchives: string[];
  /** The device's data dir (daemon-owned state such as bind-mount pins lives there). */
  dataDir: string;
}

/**
 * Loads the Compose file (sent as text, read beneath `sourceDir` for its secrets and configs; or
 * the compose component of an installed package) and applies the vendor's isolation policy.
 */
export function prepareCompose(request: ComposeRequest, device: DeviceForCompose, sourceDir?: string): PreparedCompose {
  if (Boolean(request.app) === Boolean(request.file)) throw new ComposeRequestError('give either -f FILE --vendor NAME, or --app APP-ID (an installed package)');
  const params = request.params ?? {};
  let vendor: VendorId;
  let project = '';
  let parameterEnv: Record<string, string> = {};
  let imageArchives: string[] = [];
  let variables: Record<string, string>;
  let text: string;
  let file: string;
  if (request.app) {
    const installed = device.installed.get(request.app);
    if (!installed) throw new ComposeRequestError(`no installed application ${quoteValue(request.app)} (bulkhead install it first)`);
    vendor = vendorId(installed.vendor);
    if (request.vendor && request.vendor !== vendor) throw new ComposeRequestError(`--vendor ${request.vendor}: ${request.app} belongs to ${vendor}`);
    let component;
    try {
      // Unpacked where only the daemon writes: a vendor's apps could plant links in its own root.
      component = composeComponent(installed.path, request.component, params,
        path.join(device.dataDir, 'compose-packages', vendorDirName(vendor), `${request.app}-${request.component ?? 'compose'}`));
    } catch (err) {
      if (err instanceof PackageDeploymentError || err instanceof ArchiveError) throw new ComposeRequestError(err.message);
      throw err;
    }
    file = component.composeFile;
    sourceDir = path.dirname(file);
    project = `${request.app}-${component.component}`;
    parameterEnv = component.environment;
    imageArchives = component.imageArchives;
    variables = { ...parameterEnv };
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      throw new ComposeRequestError(`${file}: cannot read`);
    }
  } else {
    if (!request.vendor?.trim()) throw new ComposeRequestError('--vendor is required with -f');
    if (!sourceDir) throw new Error('prepareCompose: a file request needs the directory its secrets and configs are read from');
    vendor = vendorId(request.vendor);
    file = request.file!.name;
    text = request.file!.text;
    variables = { ...params };
  }
  const env = request.env ?? (request.app ? dotEnvBeside(sourceDir!) : undefined);
  try {
    // Precedence, lowest first: .env, then deployment parameters / --param.
    if (env) variables = { ...parseDotEnv(env.text, env.name), ...variables };
  } catch (err) {
    throw new ComposeRequestError(err instanceof InterpolationError ? err.message : `${env!.name}: cannot read`);
  }
  let loaded: LoadedCompose;
  try {
    loaded = loadComposeText(text, file, variables);
    loaded = { ...loaded, file: withParameterEnvironment(applyProfiles(loaded.file, request.profiles ?? [], file), parameterEnv) };
  } catch (err) {
    if (err instanceof ComposeError) throw new ComposeRequestError(err.message);
    throw err;
  }
  const policy = containerPolicyFor(vendor, device.policy, device.dataDir);
  project ||= loaded.file.name ?? request.file!.directoryName;
  // Relative bind mounts resolve where the bridge deploys the project: under the vendor's data root.
  const projectDir = path.join(policy.dataRoot, 'deployments', project);
  const judged = applyContainerPolicy(loaded.file, policy, projectDir);
  const violations = [...judged.violations, ...undeclaredVolumeViolations(loaded.file)];
  const services = violations.length ? [] : judged.services;
  const identity = { vendor, project, app: request.app ?? project, deployment: deploymentName(vendor, project), network: vendorNetworkName(vendor) };
  return { loaded, policy, violations, services, identity, projectDir, sourceDir: sourceDir!, vendor, file, imageArchives, dataDir: device.dataDir };
}

function dotEnvBeside(dir: string): { name: string; text: string } | undefined {
  const name = path.join(dir, '.env');
  return fs.existsSync(name) ? { name, text: fs.readFileSync(name, 'utf8') } : undefined;
}

/** The files (secrets, configs) a Compose file declares, as paths relative to it. */
export function declaredFiles(loaded: LoadedCompose): string[] {
  const out = new Set<string>();
  for (const kind of ['secrets', 'configs'] as const) {
    for (const decl of Object.values(loaded.file[kind] ?? {})) if (decl?.file) out.add(decl.file);
  }
  return [...out];
}

/** A relative path that stays beneath its base: no absolute path, no `..`, no empty segment. */
export function isPlainRelative(p: string): boolean {
  if (p === '' || path.isAbsolute(p) || p.includes('\0') || p.includes('\\')) return false;
  const parts = path.posix.normalize(p).split('/');
  return !parts.includes('..') && parts[0] !== '' && path.posix.normalize(p) === p.replace(/^\.\//, '');
}
