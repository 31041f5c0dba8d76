// One Margo ApplicationDeployment (the YAML a WFM serves per deployment): parsed within the device's
// manifest limits (it comes from the network), validated against application-deployment.schema.json
// (derived from the Workload Management API 1.0.0-rc.3), then checked for what a schema cannot say.
// Every problem names its field, as a path into the document.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { BoundedYamlError, parseBoundedYaml } from '../../packages/manifest/bounded-yaml.js';
import { jsonPointerToPath } from '../../packages/manifest/application-description.js';
import type { ManifestLimits } from '../../packages/manifest/manifest-limits.js';
import { quoteValue } from '../../packages/quote-value.js';
import { FleetApplyError } from './apply-errors.js';
import schema from './application-deployment.schema.json' with { type: 'json' };

export interface MatchExpression { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt' | 'ContainsAll' | 'ContainsAny'; values?: unknown[]; itemSelector?: Selector }
export interface Selector { matchExpressions: MatchExpression[] }
export interface EligibilityRule { propertySelector?: Selector; labelSelector?: Selector }
export interface DeviceConstraints {
  capacityRequirements?: { cpu?: { cores: number; architectures?: string[] }; memory?: string; storage?: string };
  eligibilityRules?: EligibilityRule[];
}
export interface DeploymentComponent {
  name: string;
  properties: { repository: string; revision: string; wait?: boolean; timeout?: string; [k: string]: unknown };
}
export interface DeploymentParameter { value: unknown; targets: { pointer: string; components: string[] }[] }

export interface ApplicationDeployment {
  apiVersion?: string;
  kind?: 'ApplicationDeployment';
  id?: string;
  metadata: { annotations: { id?: string; applicationId?: string }; name: string; namespace: string; deviceId: string; labels?: Record<string, string> };
  spec: {
    applicationId: string;
    deploymentProfile: { type: string; components: DeploymentComponent[]; deviceConstraints?: DeviceConstraints };
    parameters?: Record<string, DeploymentParameter>;
  };
}

let compiled: ValidateFunction | undefined;
const validator = () => (compiled ??= new Ajv({ allErrors: true, strict: false }).compile(schema));

const FRIENDLY_PATTERNS: Record<string, string> = {
  revision: 'must be a SemVer 2.0 version without a leading "v" (build metadata after "_"), e.g. 1.2.0',
  timeout: 'must be minutes and seconds, e.g. 5m0s',
  deviceId: 'is not a device id (RFC 3986 unreserved characters, "/" between levels)',
  repository: 'must be an OCI reference with the oci:// scheme',
};

function valueAt(doc: unknown, pointer: string): unknown {
  let node = doc;
  for (const raw of pointer.split('/').slice(1)) node = (node as Record<string, unknown> | undefined)?.[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  return node;
}

function describe(e: ErrorObject, doc: unknown): string | undefined {
  const at = jsonPointerToPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'if': return undefined; // its "then" branch names the problem
    case 'additionalProperties': return `${at}: unknown key ${quoteValue(String(p.additionalProperty))}`;
    case 'required': return `${at}: missing required key ${quoteValue(String(p.missingProperty))}`;
    case 'anyOf': return `${at}: needs itemSelector or values`;
    case 'enum': return `${at}: must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const': return `${at}: must be ${JSON.stringify(p.allowedValue)}`;
    case 'pattern': {
      const field = e.instancePath.split('/').pop() ?? '';
      return `${at}: ${quoteValue(valueAt(doc, e.instancePath))} ${FRIENDLY_PATTERNS[field] ?? `does not match ${String(p.pattern)}`}`;
    }
    default: return `${at}: ${e.message ?? 'is invalid'}`;
  }
}

const MAX_LISTED = 10;

function invalid(source: string, problems: string[]): FleetApplyError {
  const shown = problems.slice(0, MAX_LISTED);
  const more = problems.length > MAX_LISTED ? `; and ${problems.length - MAX_LISTED} more` : '';
  return new FleetApplyError('BH_ERR_FLEET_INVALID', `${source}: ${shown.join('; ')}${more}`);
}

/**
 * Parses and validates one deployment document fetched for `deploymentId`. Throws
 * FleetApplyError(BH_ERR_FLEET_INVALID) naming every problem (at most ten are listed).
 */
export function parseApplicationDeployment(document: Buffer, deploymentId: string, limits: ManifestLimits): ApplicationDeployment {
  const source = `deployment ${quoteValue(deploymentId)}`;
  let doc: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(document);
    doc = parseBoundedYaml(text, limits);
  } catch (err) {
    if (err instanceof BoundedYamlError) throw invalid(source, [err.message]);
    if (err instanceof TypeError) throw invalid(source, ['(document): not UTF-8 text']);
    throw err;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid(source, ['(document): must be a mapping (key: value pairs)']);
  const validate = validator();
  if (!validate(doc)) {
    const problems = [...new Set((validate.errors ?? []).map((e) => describe(e, doc)).filter((x): x is string => x !== undefined))];
    throw invalid(source, problems);
  }
  const problems = crossReferenceProblems(doc as ApplicationDeployment, deploymentId);
  if (problems.length) throw invalid(source, problems);
  return doc as ApplicationDeployment;
}

function crossReferenceProblems(d: ApplicationDeployment, deploymentId: string): string[] {
  const problems: string[] = [];
  // The document names its deployment: served under another deployment's id it would take over that
  // deployment's records (and its app) on this device.
  if (d.id !== undefined && d.id !== deploymentId) problems.push(`id: ${quoteValue(d.id)} is not the deployment id it was served as (${quoteValue(deploymentId)})`);
  const annotated = d.metadata.annotations.id;
  if (annotated !== undefined && annotated !== deploymentId) problems.push(`metadata.annotations.id: ${quoteValue(annotated)} is not the deployment id it was served as (${quoteValue(deploymentId)})`);
  const applicationId = d.metadata.annotations.applicationId;
  if (applicationId !== undefined && applicationId !== d.spec.applicationId) {
    problems.push(`metadata.annotations.applicationId: ${quoteValue(applicationId)} differs from spec.applicationId ${quoteValue(d.spec.applicationId)}`);
  }
  const names = new Set<string>();
  d.spec.deploymentProfile.components.forEach((c, i) => {
    if (names.has(c.name)) problems.push(`spec.deploymentProfile.components[${i}].name: ${quoteValue(c.name)} appears twice`);
    names.add(c.name);
  });
  for (const [name, parameter] of Object.entries(d.spec.parameters ?? {})) {
    parameter.targets.forEach((t, i) => t.components.forEach((c, j) => {
      if (!names.has(c)) problems.push(`spec.parameters.${name}.targets[${i}].components[${j}]: no component named ${quoteValue(c)} in the deployment profile`);
    }));
  }
  return problems;
}

/** A parameter value as the string a config key or an environment variable carries. */
export function parameterText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return '';
  return JSON.stringify(value);
}
