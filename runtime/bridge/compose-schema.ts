// The Compose Specification's JSON schema (vendored unmodified in compose-spec/, see its README),
// compiled once with Ajv, plus the few explicit patches below. Each patch says why; a unit test
// checks that each one is still needed and still applies.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import spec from './compose-spec/compose-spec.json' with { type: 'json' };
import { quoteValue } from '../../packages/quote-value.js';

type Schema = Record<string, unknown> & { properties: Record<string, Record<string, unknown>> };

export interface SchemaPatch { what: string; why: string; apply: (schema: Schema) => void }

export const COMPOSE_SCHEMA_PATCHES: readonly SchemaPatch[] = [
  {
    what: 'drop "$schema"',
    why: 'the file names draft-07 as https://json-schema.org/draft-07/schema, a spelling Ajv does not know; the body is plain draft-07, Ajv\'s default',
    apply: (s) => { delete s.$schema; },
  },
  {
    what: 'name: pattern ^[a-z0-9][a-z0-9_-]*$',
    why: 'the specification restricts project names to lower-case letters, digits, "-" and "_" (docker compose enforces it in code); engine object names are derived from it',
    apply: (s) => { s.properties.name = { ...s.properties.name, pattern: '^[a-z0-9][a-z0-9_-]*$' }; },
  },
];

export function patchedComposeSchema(): Schema {
  const schema = structuredClone(spec) as unknown as Schema;
  for (const patch of COMPOSE_SCHEMA_PATCHES) patch.apply(schema);
  return schema;
}

let compiled: ValidateFunction | undefined;
export function composeSchemaValidator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(patchedComposeSchema());
  return compiled;
}

/** Where an Ajv error points, as a list of keys and indexes. */
export function errorPath(e: ErrorObject): (string | number)[] {
  return e.instancePath.split('/').slice(1).map((raw) => {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^\d+$/.test(part) ? Number(part) : part;
  });
}

/**
 * One schema error as words, or undefined for the summary keywords (oneOf/anyOf) whose branches'
 * own errors say more. The path is the error's own; an unknown key is reported at the key.
 */
export function schemaErrorText(e: ErrorObject): { path: (string | number)[]; message: string } | undefined {
  const at = errorPath(e);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'oneOf': case 'anyOf': case 'if': case 'not': return undefined;
    case 'additionalProperties': return { path: [...at, String(p.additionalProperty)], message: 'unknown key (not in the Compose Specification)' };
    case 'required': return { path: at, message: `missing required key ${quoteValue(String(p.missingProperty))}` };
    case 'enum': return { path: at, message: `must be one of ${(p.allowedValues as unknown[]).map((v) => quoteValue(v)).join(', ')}` };
    case 'pattern': return { path: at, message: `does not match ${p.pattern}` };
    case 'propertyNames': return undefined; // the pattern error that follows names the key
    default: return { path: at, message: e.message ?? 'does not match the Compose Specification' };
  }
}
