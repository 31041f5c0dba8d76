// What a compose verb acts on, however the request arrived: built from CLI flags on the device, or
// received as a JSON body by the management API. Both paths hand the same ComposeRequest to
// prepareCompose, so Compose files are loaded, merged, interpolated and checked against the
// vendor's isolation policy by one piece of code (compose-project.ts), and every problem is
// reported alike over either path.
import fs from 'node:fs';
import path from 'node:path';
import { ArchiveError } from '../../packages/archive/archive-limits.js';
import type { InstalledPackages } from '../../packages/install/installed-packages.js';
import { quoteValue } from '../../packages/quote-value.js';
import { vendorId, type VendorId } from '../../packages/trust/vendor-id.js';
import type { DevicePolicy } from '../state/device-policy.js';
import { vendorDirName } from '../state/vendor-names.js';
import type { LoadedCompose } from './compose-file.js';
import type { ComposeProblem } from './compose-problems.js';
import { planComposeSources, PROJECT_NAME, variablesWithDotEnv } from './compose-project.js';
import type { EnforcedService, VendorContainerPolicy, Violation } from './container-policy.js';
import type { DeploymentIdentity } from './container-spec.js';
import { composeComponent, PackageDeploymentError } from './package-deployment.js';
import { containerPolicyFor } from './vendor-policy.js';
import { packageFilesAt } from './package-files.js';

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
  /** ... with the files merged onto it, in order (several -f: override files). */
  overrides?: { name: string; text: string }[];
  /** The project name (-p); default: the file's `name:`, else its directory's name. */
  project?: string;
  /** up: remove containers of services the files no longer name. */
  removeOrphans?: boolean;
  /** down: remove the volumes too. */
  volumes?: boolean;
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
  /** Every problem of the files, structural and policy, in one shape; none: the verbs may act. */
  problems: ComposeProblem[];
  /** The names of the files merged, in order. */
  files: string[];
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
  if (request.project !== undefined && !PROJECT_NAME.test(request.project)) {
    throw new ComposeRequestError(`-p ${quoteValue(request.project)}: a project name is lower-case letters, digits, "-" and "_", starting with a letter or digit`);
  }
  const params = request.params ?? {};
  let vendor: VendorId;
  let project = request.project;
  let parameterEnv: Record<string, string> = {};
  let imageArchives: string[] = [];
  let variables: Record<string, string>;
  let text: string;
  let file: string;
  let directoryName: string;
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
    directoryName = path.basename(sourceDir);
    project ??= `${request.app}-${component.component}`;
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
    directoryName = request.file!.directoryName;
    variables = { ...params };
  }
  // Precedence, lowest first: .env, then deployment parameters / --param.
  const env = request.env ?? (request.app ? dotEnvBeside(sourceDir!) : undefined);
  const withEnv = variablesWithDotEnv(env, variables);
  const policy = containerPolicyFor(vendor, device.policy, device.dataDir);
  const sources = [{ name: file, text }, ...(request.overrides ?? [])];
  const plan = planComposeSources(sources, {
    vendor, policy, variables: withEnv.variables, profiles: request.profiles, parameterEnvironment: parameterEnv, project, app: request.app,
  }, directoryName, packageFilesAt(sourceDir!));
  const problems = [...withEnv.problems, ...plan.problems];
  return {
    loaded: { file: plan.file, warnings: plan.warnings }, problems, files: sources.map((s) => s.name), policy, violations: plan.violations,
    services: problems.length ? [] : plan.services, identity: plan.identity, projectDir: plan.projectDir, sourceDir: sourceDir!, vendor, file, imageArchives,
    dataDir: device.dataDir,
  };
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
