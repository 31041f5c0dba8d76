// margo.yaml: parse (YAML), validate against our published JSON schema, and check what a schema
// cannot (cross references). Every problem is reported with its path in the document.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { BoundedYamlError, parseBoundedYaml } from './bounded-yaml.js';
import { DEFAULT_MANIFEST_LIMITS, type ManifestLimits } from './manifest-limits.js';
import schema from './application-description.schema.json' with { type: 'json' };
import { quoteValue } from '../quote-value.js';

export const APPLICATION_DESCRIPTION_SCHEMA: Record<string, unknown> = schema;

export const WASM_PROFILE_TYPE = 'x-bulkhead-wasm';

export interface FsGrantRequest { guest: string; path: string; mode?: 'ro' | 'rw' }
export interface CapabilityRequest {
  fs?: FsGrantRequest[];
  net?: { connect?: string[]; listen?: number[] };
  kv?: { namespace?: string; quota?: string };
  messaging?: { publish?: string[]; subscribe?: string[]; queue?: { messages?: number; bytes?: string; overflow?: 'drop-oldest' | 'reject' } };
  env?: Record<string, string>;
}
export interface WasmComponentProperties {
  module: string;
  kind?: 'module' | 'component';
  isolation?: 'worker' | 'process' | 'none';
  args?: string[];
  limits?: { memory?: string; timeout?: string };
  capabilities?: CapabilityRequest;
}
export interface DeploymentProfile {
  type: 'compose' | 'helm.v3' | typeof WASM_PROFILE_TYPE;
  id?: string;
  description?: string;
  components: { name: string; properties?: Record<string, unknown> }[];
  requiredResources?: Record<string, unknown>;
}
export interface ApplicationDescription {
  apiVersion: 'margo.org/v1-alpha1';
  kind: 'ApplicationDescription';
  metadata: {
    id: string;
    name: string;
    description?: string;
    version: string;
    catalog: {
      application?: { icon?: string; descriptionFile?: string; releaseNotes?: string; licenseFile?: string; [k: string]: unknown };
      author?: { name?: string; email?: string }[];
      organization: { name: string; site?: string }[];
    };
  };
  deploymentProfiles: DeploymentProfile[];
  parameters?: Record<string, { value?: unknown; targets?: { pointer: string; components: string[] }[] }>;
  configuration?: Record<string, unknown>;
}

export class ManifestError extends Error {
  /** `limit`: the text broke a size or node-count limit and was refused before parsing. */
  constructor(readonly source: string, readonly problems: string[], readonly limit = false) {
    // One problem, one line (what scripts and logs expect); several are listed one per line.
    super(problems.length === 1 ? `${source}: ${problems[0]}`
      : `${source} is not a valid application description:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

// Compiled on first use: compiling costs ~100 ms, which commands that never read a manifest should not pay.
let compiled: ValidateFunction | undefined;
const validator = () => (compiled ??= new Ajv({ allErrors: true, strict: false }).compile(APPLICATION_DESCRIPTION_SCHEMA));

/** "/deploymentProfiles/1/components/0" -> "deploymentProfiles[1].components[0]" */
export function jsonPointerToPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out || '(document)';
}

function describe(error: ErrorObject): string | undefined {
  const at = jsonPointerToPath(error.instancePath);
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'if': return undefined; // its "then" branch reports the real problem
    case 'required': if (error.schemaPath.includes('/anyOf/')) return undefined; break; // summarised by anyOf
    case 'anyOf': return `${at}: needs one of: repository + revision, archive, or packageLocation`;
    case 'additionalProperties': return `${at}: unknown key ${quoteValue(String(p.additionalProperty))}`;
  }
  switch (error.keyword) {
    case 'required': return `${at}: missing required key ${quoteValue(String(p.missingProperty))}`;
    case 'enum': return `${at}: must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const': return `${at}: must be ${JSON.stringify(p.allowedValue)}`;
    case 'pattern':
      if (error.schemaPath.startsWith('#/definitions/relativePath')) {
        return `${at}: ${quoteValue(pickValue(error))} must be a relative path inside the package (no leading "/", no "..")`;
      }
      return `${at}: ${quoteValue(pickValue(error))} does not match ${String(p.pattern)}`;
    default: return `${at}: ${error.message ?? 'is invalid'}`;
  }
}

const MAX_LISTED_PROBLEMS = 20;

let lastDocument: unknown;
function pickValue(error: ErrorObject): unknown {
  let node: unknown = lastDocument;
  for (const raw of error.instancePath.split('/').slice(1)) node = (node as Record<string, unknown> | undefined)?.[raw];
  return node;
}

/**
 * Parses and validates margo.yaml text within `limits` (size and node count are checked before
 * parsing). Throws ManifestError naming every problem found.
 */
export function parseApplicationDescription(text: string, source = 'margo.yaml', limits: ManifestLimits = DEFAULT_MANIFEST_LIMITS): ApplicationDescription {
  let doc: unknown;
  try {
    doc = parseBoundedYaml(text, limits);
  } catch (err) {
    if (err instanceof BoundedYamlError) throw new ManifestError(source, [err.message], err.limit);
    throw err;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ManifestError(source, ['(document): must be a mapping (key: value pairs)']);
  }
  lastDocument = doc;
  const problems: string[] = [];
  const validate = validator();
  if (!validate(doc)) {
    // A set, and a cap on what is listed: a manifest with 60k unknown keys produced 60k errors,
    // and deduplicating them with includes() was quadratic.
    const unique = new Set<string>();
    for (const e of validate.errors ?? []) {
      const line = describe(e);
      if (line) unique.add(line);
    }
    problems.push(...[...unique].slice(0, MAX_LISTED_PROBLEMS));
    if (unique.size > MAX_LISTED_PROBLEMS) problems.push(`... and ${unique.size - MAX_LISTED_PROBLEMS} more problems`);
  }
  if (problems.length === 0) problems.push(...crossReferenceProblems(doc as ApplicationDescription));
  if (problems.length > 0) throw new ManifestError(source, problems);
  return doc as ApplicationDescription;
}

function crossReferenceProblems(app: ApplicationDescription): string[] {
  const problems: string[] = [];
  const allNames = new Set<string>();
  app.deploymentProfiles.forEach((profile, i) => {
    const seen = new Set<string>();
    profile.components.forEach((c, j) => {
      if (seen.has(c.name)) problems.push(`deploymentProfiles[${i}].components[${j}].name: ${quoteValue(c.name)} appears twice in this profile`);
      seen.add(c.name);
      allNames.add(c.name);
    });
  });
  for (const [name, parameter] of Object.entries(app.parameters ?? {})) {
    parameter.targets?.forEach((t, i) => t.components.forEach((c, j) => {
      if (!allNames.has(c)) problems.push(`parameters.${name}.targets[${i}].components[${j}]: no component named ${quoteValue(c)}`);
    }));
  }
  return problems;
}

/** The vendor a package claims to come from: its first organization. Signed with the package. */
export function vendorOf(app: ApplicationDescription): string {
  return app.metadata.catalog.organization[0]!.name;
}

/** Every file inside the package that the description refers to. */
export function referencedFiles(app: ApplicationDescription): string[] {
  const files: string[] = [];
  const a = app.metadata.catalog.application;
  for (const f of [a?.icon, a?.descriptionFile, a?.releaseNotes, a?.licenseFile]) if (f) files.push(f);
  for (const profile of app.deploymentProfiles) {
    for (const c of profile.components) {
      const props = c.properties as Record<string, unknown> | undefined;
      if (profile.type === WASM_PROFILE_TYPE && typeof props?.module === 'string') files.push(props.module);
      if (profile.type === 'compose') {
        if (typeof props?.archive === 'string') files.push(props.archive);
        if (Array.isArray(props?.images)) files.push(...(props.images as string[]));
      }
    }
  }
  return files;
}
