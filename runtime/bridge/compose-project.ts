// A Compose deployment, planned: its files read and merged in order, interpolated from .env and
// the deployment's parameters, checked as a whole, and judged by the vendor's isolation policy —
// every problem of every stage in one list of one shape (compose-problems.ts). `compose check`
// prints the plan; `up` refuses a plan with problems and hands a clean one to composeUp.
import fs from 'node:fs';
import path from 'node:path';
import type { VendorId } from '../../packages/trust/vendor-id.js';
import { deploymentName, vendorNetworkName } from '../state/vendor-names.js';
import { analyzeCompose, applyProfiles, ComposeError, type ComposeFile, type ComposeSource } from './compose-file.js';
import { InterpolationError, parseDotEnv } from './compose-interpolation.js';
import { problem, type ComposeProblem, type KeyPath } from './compose-problems.js';
import { applyContainerPolicy, RULE_KEYS, type EnforcedService, type VendorContainerPolicy, type Violation } from './container-policy.js';
import type { DeploymentIdentity } from './container-spec.js';
import { withParameterEnvironment } from './package-deployment.js';
import { cycleProblem } from './compose-references.js';
import { NO_PACKAGE_FILES, packageFilesAt, type PackageFiles } from './package-files.js';

export interface ComposePlanInput {
  /** The Compose files, in merge order (later ones override earlier ones). */
  files: readonly string[];
  vendor: VendorId;
  policy: VendorContainerPolicy;
  /** Interpolation variables (--param, or a package's parameters); they win over .env. */
  variables?: Readonly<Record<string, string>>;
  /** .env for interpolation; default: .env beside the first file, if there is one. */
  envFile?: string;
  profiles?: readonly string[];
  /** Margo parameters: environment variables set on every service. */
  parameterEnvironment?: Readonly<Record<string, string>>;
  /** The project name (-p); else the file's `name:`, else the first file's directory name. */
  project?: string;
  /** The app id for labels; default: the project. */
  app?: string;
}

export interface ComposePlan {
  file: ComposeFile;
  warnings: string[];
  /** Every problem: structural (BH_ERR_COMPOSE_*) and policy (BH_ERR_POLICY), in file order. */
  problems: ComposeProblem[];
  violations: Violation[];
  /** What the policy enforces on each service; empty while there are problems. */
  services: EnforcedService[];
  identity: DeploymentIdentity;
  /** Where relative bind mounts resolve: beneath the vendor's data root. */
  projectDir: string;
}

export function violationProblem(v: Violation, locate: (path: KeyPath) => { file?: string; line?: number }): ComposeProblem {
  const key = v.key ?? RULE_KEYS[v.rule] ?? v.rule;
  const path = ['services', v.service, ...key.split('.')];
  const message = v.message.startsWith(`services.${v.service}: `) ? v.message.slice(`services.${v.service}: `.length) : v.message;
  return { ...problem('BH_ERR_POLICY', path, message, locate(path)), rule: v.rule };
}

/** What the specification allows as a project name (and `-p` takes). */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** A directory name as a project name, as docker compose makes one: lower case, other characters dropped. */
export function projectNameFrom(dir: string): string {
  return path.basename(dir).toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[_-]+/, '') || 'default';
}

/** A plan of files on this machine; `sourceDir` is the first file's directory (the package, which references stay inside). */
export function planCompose(input: ComposePlanInput): ComposePlan & { sourceDir: string } {
  const first = input.files[0];
  if (!first) throw new ComposeError('compose', [problem('BH_ERR_COMPOSE_INVALID', [], 'no Compose file given')]);
  const sourceDir = path.dirname(path.resolve(first));
  const problems: ComposeProblem[] = [];
  const sources: ComposeSource[] = [];
  for (const name of input.files) {
    try {
      sources.push({ name, text: fs.readFileSync(name, 'utf8') });
    } catch (err) {
      problems.push({ ...problem('BH_ERR_COMPOSE_INVALID', [], `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`), file: name });
    }
  }
  const envFile = input.envFile ?? (fs.existsSync(path.join(sourceDir, '.env')) ? path.join(sourceDir, '.env') : undefined);
  let env: { name: string; text: string } | undefined;
  if (envFile) {
    try {
      env = { name: envFile, text: fs.readFileSync(envFile, 'utf8') };
    } catch (err) {
      problems.push({ ...problem('BH_ERR_COMPOSE_INVALID', [], `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`), file: envFile });
    }
  }
  const { variables, problems: envProblems } = variablesWithDotEnv(env, input.variables ?? {});
  problems.push(...envProblems);
  const plan = planComposeSources(sources, { ...input, variables }, path.basename(sourceDir), packageFilesAt(sourceDir));
  return { ...plan, sourceDir, problems: [...problems, ...plan.problems], services: problems.length ? [] : plan.services };
}

/**
 * .env's variables under the given ones (which win), or the located problem of a malformed .env.
 */
export function variablesWithDotEnv(env: { name: string; text: string } | undefined, variables: Readonly<Record<string, string>>): { variables: Record<string, string>; problems: ComposeProblem[] } {
  if (!env) return { variables: { ...variables }, problems: [] };
  try {
    return { variables: { ...parseDotEnv(env.text, env.name, variables), ...variables }, problems: [] };
  } catch (err) {
    if (!(err instanceof InterpolationError)) throw err;
    // "<file>:<line>: <what>", as parseDotEnv words it.
    const m = /^:(\d+): (.*)$/s.exec(err.message.slice(env.name.length));
    return { variables: { ...variables }, problems: [{ ...problem('BH_ERR_COMPOSE_INVALID', [], m ? m[2]! : err.message), file: env.name, ...(m ? { line: Number(m[1]) } : {}) }] };
  }
}

/**
 * The plan of Compose texts already read (planCompose reads the files and .env, then calls this);
 * `directoryName` names the project when neither -p nor `name:` does.
 */
export function planComposeSources(sources: readonly ComposeSource[], input: Omit<ComposePlanInput, 'files' | 'envFile'>, directoryName: string,
  files: PackageFiles = NO_PACKAGE_FILES): ComposePlan {
  const problems: ComposeProblem[] = [];
  const first = sources[0]?.name ?? 'compose.yaml';
  const analysis = analyzeCompose(sources, input.variables ?? {}, files);
  problems.push(...analysis.problems);
  let file = analysis.file;
  try {
    file = applyProfiles(file, input.profiles ?? [], first);
  } catch (err) {
    if (!(err instanceof ComposeError)) throw err;
    if (!problems.length) problems.push(...err.issues);
  }
  // Cycles among the services that run: profiles can leave one out (as docker compose decides it).
  const cycle = cycleProblem(file.services);
  if (cycle) problems.push(problem('BH_ERR_COMPOSE_INVALID', cycle.path, cycle.message, analysis.locate(cycle.path)));
  file = withParameterEnvironment(file, { ...input.parameterEnvironment });
  const project = input.project ?? file.name ?? projectNameFrom(directoryName);
  const projectDir = path.join(input.policy.dataRoot, 'deployments', project);
  // The policy judges the services whose own shape is right; the others already have problems.
  const judged: ComposeFile = { ...file, services: Object.fromEntries(Object.entries(file.services).filter(([n]) => analysis.valid.has(n))) };
  const { violations, services } = applyContainerPolicy(judged, input.policy, projectDir);
  // 'syntax' refusals are malformed items the loader has already reported as BH_ERR_COMPOSE_INVALID.
  problems.push(...violations.filter((v) => v.rule !== 'syntax').map((v) => violationProblem(v, analysis.locate)));
  const identity: DeploymentIdentity = {
    vendor: input.vendor, project, app: input.app ?? project, deployment: deploymentName(input.vendor, project), network: vendorNetworkName(input.vendor),
  };
  return { file, warnings: analysis.warnings, problems, violations, services: problems.length ? [] : services, identity, projectDir };
}
