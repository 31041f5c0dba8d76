// The compose verbs on a prepared request, returning data rather than printing: the CLI (on the
// device) and the management API (for a remote or local client) run exactly these, and the CLI
// prints their results with one formatter whichever path produced them.
import path from 'node:path';
import type Docker from 'dockerode';
import { makeDirectoryBeneath, OutsideRootError } from '../../host-apis/capabilities/directory-handle.js';
import { quoteValue } from '../../packages/quote-value.js';
import { composeDown, composeLogs, composePs, composeUp, DeployError, type ServiceAction, type ServiceStatus } from './compose-deployer.js';
import type { PreparedCompose } from './compose-request.js';
import { ComposeRequestError } from './compose-request.js';
import type { EnforcedService, Violation } from './container-policy.js';
import { problemsRefusalCode, problemsRefusalText, type ComposeProblem, type ComposeProblemCode } from './compose-problems.js';
import { connectEngine, EngineError } from './engine-connection.js';
import { vendorTotalViolations } from './vendor-totals.js';
import { loadVendorImageArchive, releaseUnusedVendorImages, resolveVendorImages } from './vendor-images.js';
import { BindMountError, deploymentHasContainers, releaseOrphanPins, releasePins } from './bind-mounts.js';
import { policyRefusalText } from './policy-refusal.js';

export type ComposeVerb = 'check' | 'up' | 'down' | 'ps' | 'logs';

export interface ComposeCheckResult {
  ok: boolean; vendor: string; project: string; files: string[]; warnings: string[];
  /** Every problem, structural (BH_ERR_COMPOSE_*) and policy (BH_ERR_POLICY), in one shape. */
  problems: ComposeProblem[];
  violations: Violation[]; services: EnforcedService[];
}
export interface ComposeUpResult { ok: true; deployment: string; project: string; warnings: string[]; actions: { service: string; action: ServiceAction }[]; orphans?: string[] }
export interface ComposeDownResult { ok: true; removed: string[]; volumes: string[] }
export type ComposePsResult = ServiceStatus[];
export interface ComposeLogsResult { text: string }

/**
 * A refusal with one of the bridge's codes; `problems` (and `violations`, the policy's part) when
 * the Compose files were refused.
 */
export class ComposeVerbError extends Error {
  constructor(readonly code: ComposeProblemCode | 'BH_ERR_DEPLOY' | 'BH_ERR_ENGINE', message: string, readonly violations?: Violation[], readonly problems?: ComposeProblem[]) {
    super(message);
  }
}

/** Whether the refusal is the requester's bad input (a malformed file), rather than the policy's or the engine's. */
export function isBadComposeInput(err: ComposeVerbError): boolean {
  return err.code === 'BH_ERR_COMPOSE_INVALID' || err.code === 'BH_ERR_COMPOSE_UNSUPPORTED';
}

/** The refusal of files with problems: a header and one located line per problem. */
export function problemsRefusal(problems: readonly ComposeProblem[], violations: Violation[]): ComposeVerbError {
  return new ComposeVerbError(problemsRefusalCode(problems), problemsRefusalText(problems), violations, [...problems]);
}

/** check: every problem. */
export function composeCheck(p: PreparedCompose): ComposeCheckResult {
  return {
    ok: p.problems.length === 0, vendor: p.vendor, project: p.identity.project, files: p.files, warnings: p.loaded.warnings,
    problems: p.problems, violations: p.violations, services: p.services,
  };
}

/**
 * up needs files without problems; down, ps and logs only files that can be understood (a
 * deployment the policy would now refuse can still be looked at and taken down).
 */
function requireClean(p: PreparedCompose, policyToo = true): void {
  const blocking = policyToo ? p.problems : p.problems.filter((x) => x.code !== 'BH_ERR_POLICY');
  if (blocking.length) throw problemsRefusal(blocking, policyToo ? p.violations : []);
}

export async function engine(host?: string): Promise<Docker> {
  try {
    return await connectEngine(host);
  } catch (err) {
    if (err instanceof EngineError) throw new ComposeVerbError('BH_ERR_ENGINE', err.message);
    throw err;
  }
}

export interface UpOptions {
  dataDir: string;
  /** Engine socket; default DOCKER_HOST, then the usual sockets. */
  host?: string;
  /** Image archives on this machine to load first, beside the package's own. */
  imageArchives?: string[];
  onEvent?: (message: string) => void;
  /** A progress callback for loading one archive, if someone watches. */
  archiveProgress?: (archive: string) => ((done: number, total: number) => void) | undefined;
  /** Remove containers of services the files no longer name: true (--remove-orphans) or false (kept, reported as orphans, as docker compose does); absent: removed, a deployment converges on its files (the fleet). */
  removeOrphans?: boolean;
}

export async function composeUpVerb(p: PreparedCompose, options: UpOptions): Promise<ComposeUpResult> {
  requireClean(p);
  try {
    makeDirectoryBeneath(p.policy.dataRoot, p.projectDir);
  } catch (err) {
    if (err instanceof OutsideRootError) throw new ComposeVerbError('BH_ERR_DEPLOY', `${err.message}; remove the link and run up again`);
    throw err;
  }
  const docker = await engine(options.host);
  for (const archive of [...p.imageArchives, ...(options.imageArchives ?? [])]) {
    const names = await loadVendorImageArchive(docker, p.dataDir, p.vendor, archive, p.policy.imageStorageBytes, options.archiveProgress?.(archive)).catch((err: Error) => {
      throw new ComposeVerbError('BH_ERR_DEPLOY', err.message);
    });
    options.onEvent?.(`loaded ${names.join(', ') || 'no image'} for ${p.vendor}`);
  }
  // Each image resolved for this vendor to an ID: the engine is never handed a shared name.
  const images = await resolveVendorImages(docker, p.dataDir, p.vendor, p.policy.images, p.services);
  if (images.violations.length) throw new ComposeVerbError('BH_ERR_POLICY', policyRefusalText(images.violations), images.violations);
  const totals = await vendorTotalViolations(docker, p.identity, p.policy, images.services);
  if (totals.length) throw new ComposeVerbError('BH_ERR_POLICY', policyRefusalText(totals), totals);
  try {
    const r = await composeUp({
      docker, identity: p.identity, compose: p.loaded.file, enforced: images.services, projectDir: p.projectDir, sourceDir: p.sourceDir,
      vendorRoot: p.policy.dataRoot, dataDir: p.dataDir, secretsDir: path.join(options.dataDir, 'compose-secrets', p.identity.deployment), onEvent: options.onEvent,
      removeOrphans: options.removeOrphans,
    });
    return { ok: true, deployment: p.identity.deployment, project: p.identity.project, warnings: p.loaded.warnings, ...r };
  } catch (err) {
    if (err instanceof DeployError || err instanceof BindMountError) throw new ComposeVerbError('BH_ERR_DEPLOY', err.message);
    throw err;
  }
}

/** down: the containers; the volumes too only with `volumes` (docker compose down -v). */
export async function composeDownVerb(p: PreparedCompose, host?: string, options: { volumes?: boolean } = {}): Promise<ComposeDownResult> {
  requireClean(p, false);
  const docker = await engine(host);
  const volumes: string[] = [];
  const removed = await composeDown(docker, p.identity, p.loaded.file, { volumes: options.volumes === true, removedVolumes: volumes });
  await releaseUnusedVendorImages(docker, p.dataDir, p.vendor);
  try {
    releasePins(p.dataDir, p.identity.deployment);
    // Pins a crashed `up` or a removed-by-hand deployment left behind.
    await releaseOrphanPins(p.dataDir, (d) => deploymentHasContainers(docker, d));
  } catch (err) {
    if (err instanceof BindMountError) throw new ComposeVerbError('BH_ERR_DEPLOY', err.message);
    throw err;
  }
  return { ok: true, removed, volumes };
}

export async function composePsVerb(p: PreparedCompose, host?: string): Promise<ComposePsResult> {
  requireClean(p, false);
  return composePs(await engine(host), p.identity, p.loaded.file);
}

export async function composeLogsVerb(p: PreparedCompose, service: string | undefined, tail: number, host?: string): Promise<ComposeLogsResult> {
  requireClean(p, false);
  if (service && !p.loaded.file.services[service]) throw new ComposeRequestError(`no service ${quoteValue(service)} in ${p.file}`);
  return { text: await composeLogs(await engine(host), p.identity, service, tail) };
}
