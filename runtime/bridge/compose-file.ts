// Loading Compose files for the container bridge. Each file: YAML (anchors, merge keys, !reset and
// !override), interpolation from the deployment's parameters and .env, values cast to the schema's
// types, the keys the bridge implements (anything else is a problem naming the key, never silently
// dropped), the Compose Specification's JSON schema. Then the files are merged in order (override
// files) and checked as a whole (compose-references.ts). Every problem of every stage is collected
// and located (file, line, key path, service); nothing else is thrown at the caller.
import type { ErrorObject } from 'ajv';
import { castToSchemaTypes } from './compose-value-types.js';
import { composeSchemaValidator, schemaErrorText } from './compose-schema.js';
import { keyValueMap, mergeCompose, tagSets, withoutResets } from './compose-merge.js';
import { resolveFileReferences, type LoadedFile, type ReferenceContext } from './compose-includes.js';
import { interpolateDocument, InterpolationError, parseDotEnv } from './compose-interpolation.js';
import { NO_PACKAGE_FILES, PackageFileError, type PackageFiles } from './package-files.js';
import path from 'node:path';
import { dependencyMap, referenceProblems } from './compose-references.js';
import { ComposeError, problem, type ComposeProblem, type KeyPath } from './compose-problems.js';
import { parseComposeYaml, YamlProblem, type ComposeTags } from './compose-yaml.js';
import { unsupportedKeys } from './compose-support.js';
import { quoteValue } from '../../packages/quote-value.js';

export { ComposeError } from './compose-problems.js';
export { SUPPORTED_SERVICE_KEYS } from './compose-support.js';

export interface ComposeFile {
  name?: string;
  services: Record<string, Record<string, unknown>>;
  networks?: Record<string, Record<string, unknown> | null>;
  volumes?: Record<string, Record<string, unknown> | null>;
  secrets?: Record<string, { file?: string; [k: string]: unknown }>;
  configs?: Record<string, { file?: string; [k: string]: unknown }>;
}

export interface LoadedCompose { file: ComposeFile; warnings: string[] }

/** One Compose file's text and the name to report it by. */
export interface ComposeSource { text: string; name: string }

export interface ComposeAnalysis {
  /** The merged model; its services with problems are left out of `valid`. */
  file: ComposeFile;
  problems: ComposeProblem[];
  warnings: string[];
  /** Services whose shape matches the specification (reference problems aside): the isolation policy can judge these. */
  valid: Set<string>;
  /** The file and line of a key path of the merged model (the last file that writes it). */
  locate: (path: KeyPath) => { file?: string; line?: number };
}

/** Schema errors in words: of a oneOf's branches only those of the branch the value was meant for. */
function schemaProblems(errors: ErrorObject[]): { path: KeyPath; message: string }[] {
  const summaries = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  const dropped = new Set<ErrorObject>();
  for (const s of summaries) {
    const branch = errors.filter((e) => e !== s && e.schemaPath.startsWith(`${s.schemaPath}/`));
    const typeAtValue = branch.filter((e) => e.keyword === 'type' && e.instancePath === s.instancePath);
    const deeper = branch.filter((e) => !typeAtValue.includes(e));
    if (deeper.length) {
      for (const e of typeAtValue) dropped.add(e);
    } else if (typeAtValue.length) {
      for (const e of typeAtValue.slice(1)) dropped.add(e);
      const types = [...new Set(typeAtValue.map((e) => String((e.params as { type: unknown }).type)))];
      typeAtValue[0]!.message = `must be ${types.join(' or ')}`;
    }
  }
  const out = new Map<string, { path: KeyPath; message: string }>();
  for (const e of errors) {
    if (dropped.has(e)) continue;
    const text = schemaErrorText(e);
    if (text) out.set(`${text.path.join('\u0000')}\u0001${text.message}`, text);
  }
  // A path's error only once per message.
  return [...out.values()];
}

interface FileModel { doc: Record<string, unknown>; tags: ComposeTags; name: string; lineOf: (path: KeyPath) => number | undefined }

/** One file through every per-file stage; its problems are located in that file. */
function loadOne(source: ComposeSource, variables: Readonly<Record<string, string>>, problems: ComposeProblem[], warnings: string[]): FileModel | undefined {
  const at = (code: ComposeProblem['code'], path: KeyPath, message: string, line?: number) => problems.push(problem(code, path, message, { file: source.name, ...(line ? { line } : {}) }));
  // The line of the key, or of the nearest enclosing one written in the file (a list item's name, a key set by a merge).
  const near = (lineOf: (p: KeyPath) => number | undefined, path: KeyPath): number | undefined => {
    for (let n = path.length; n > 0; n--) {
      const line = lineOf(path.slice(0, n));
      if (line !== undefined) return line;
    }
    return undefined;
  };
  let parsed;
  try {
    parsed = parseComposeYaml(source.text);
  } catch (err) {
    if (!(err instanceof YamlProblem)) throw err;
    at('BH_ERR_COMPOSE_INVALID', [], `YAML: ${err.message}`, err.line);
    return undefined;
  }
  const raw = parsed.value;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    at('BH_ERR_COMPOSE_INVALID', [], raw === null || raw === undefined ? 'the file is empty; a Compose file is a mapping with services' : 'must be a mapping (services:, volumes:, ...)');
    return undefined;
  }
  const { value, problems: interpolation, unset } = interpolateDocument(raw, variables);
  for (const p of interpolation) at('BH_ERR_COMPOSE_INVALID', p.path, p.message, near(parsed.lineOf, p.path));
  for (const [name, where] of unset) warnings.push(`${source.name}: ${where}: the variable ${name} is not set; an empty string is used (set it with --param ${name}=... or in .env)`);
  const doc = value as Record<string, unknown>;
  for (const p of castToSchemaTypes(doc)) at('BH_ERR_COMPOSE_INVALID', p.path, p.message, near(parsed.lineOf, p.path));
  for (const p of unsupportedKeys(doc)) at('BH_ERR_COMPOSE_UNSUPPORTED', p.path, p.message, near(parsed.lineOf, p.path));
  const validate = composeSchemaValidator();
  if (!validate(doc)) {
    for (const p of schemaProblems(validate.errors ?? [])) at('BH_ERR_COMPOSE_INVALID', p.path, p.message, near(parsed.lineOf, p.path));
  }
  if ('version' in doc) warnings.push(`${source.name}: version: the top-level "version" is obsolete and ignored (as Docker Compose does)`);
  return { doc, tags: parsed.tags, name: source.name, lineOf: parsed.lineOf };
}

/** Where a key of the merged model is written: the last file that writes it (later files win). */
function locateIn(models: readonly FileModel[], path: KeyPath, fallback?: string): { file?: string; line?: number } {
  for (let n = path.length; n >= Math.min(path.length, 2); n--) {
    for (const m of [...models].reverse()) {
      const line = m.lineOf(path.slice(0, n));
      if (line !== undefined) return { file: m.name, line };
    }
  }
  return fallback ? { file: fallback } : {};
}

/**
 * Every problem of a set of Compose files merged in order (later files override earlier ones).
 * Never throws for anything in the files.
 */
export function analyzeCompose(sources: readonly ComposeSource[], variables: Readonly<Record<string, string>> = {},
  files: PackageFiles = NO_PACKAGE_FILES): ComposeAnalysis {
  const problems: ComposeProblem[] = [];
  const warnings: string[] = [];
  let merged: Record<string, unknown> | undefined;
  const models: FileModel[] = [];
  const lineOfFile = new Map<string, (path: KeyPath) => number | undefined>();
  const report = (at: { file: string; path: KeyPath }, message: string, confinement = false) => {
    const line = lineOfFile.get(at.file)?.(at.path);
    // A path out of the package is refused by an isolation rule; a missing or malformed file is bad input.
    problems.push(problem(confinement ? 'BH_ERR_POLICY' : 'BH_ERR_COMPOSE_INVALID', at.path, message, { file: at.file, ...(line ? { line } : {}), ...(confinement ? { rule: 'package-path' } : {}) }));
  };
  // Files named by include and extends: read from the package once each, through every per-file stage.
  const cache = new Map<string, LoadedFile | null>();
  const ctx: ReferenceContext = {
    variables,
    report,
    load(relative, fromDir, at, vars) {
      let read: { text: string; path: string };
      try {
        read = files.read(relative, fromDir);
      } catch (err) {
        if (!(err instanceof PackageFileError)) throw err;
        report(at, err.message, err.confinement);
        return undefined;
      }
      const key = `${read.path}\u0000${JSON.stringify(vars ?? variables)}`;
      if (cache.has(key)) return cache.get(key) ?? undefined;
      const model = loadOne({ name: read.path, text: read.text }, vars ?? variables, problems, warnings);
      const loaded = model ? { doc: model.doc, tags: model.tags, name: read.path, key: read.path, dir: path.posix.dirname(read.path) } : undefined;
      if (model) lineOfFile.set(read.path, model.lineOf);
      cache.set(key, loaded ?? null);
      return loaded;
    },
    envFile(relative, fromDir, at) {
      try {
        const read = files.read(relative, fromDir);
        return parseDotEnv(read.text, read.path, variables);
      } catch (err) {
        if (!(err instanceof PackageFileError) && !(err instanceof InterpolationError)) throw err;
        report(at, err.message, err instanceof PackageFileError && err.confinement);
        return undefined;
      }
    },
  };
  for (const source of sources) {
    const model = loadOne(source, variables, problems, warnings);
    if (!model) continue;
    models.push(model);
    lineOfFile.set(source.name, model.lineOf);
    // -f files share the project directory (the first file's), as docker compose has it.
    const doc = resolveFileReferences({ doc: model.doc, tags: model.tags, name: source.name, key: path.posix.basename(source.name.replace(/\\/g, '/')), dir: '.' }, ctx);
    const tags = tagSets(model.tags);
    merged = merged === undefined ? withoutResets(doc, tags) as Record<string, unknown> : mergeCompose(merged, doc, tags) as Record<string, unknown>;
  }
  const doc = merged ?? {};
  const { version: _ignored, ...rest } = doc;
  const file = rest as unknown as ComposeFile;
  const services = file.services && typeof file.services === 'object' && !Array.isArray(file.services) ? file.services : {};
  if (merged && Object.keys(services).length === 0 && !problems.some((p) => p.path.startsWith('services'))) {
    problems.push(problem('BH_ERR_COMPOSE_INVALID', ['services'], 'at least one service is required', { file: sources[0]?.name }));
  }
  file.services = services;
  const locate = (path: KeyPath) => locateIn(models, path, sources[0]?.name);
  for (const p of applyEnvFiles(file, files)) {
    problems.push(problem(p.confinement ? 'BH_ERR_POLICY' : 'BH_ERR_COMPOSE_INVALID', p.path, p.message, { ...locate(p.path), ...(p.confinement ? { rule: 'package-path' } : {}) }));
  }
  // Services whose own shape is wrong (YAML, types, schema, unknown keys) are not read as typed below.
  const broken = new Set(problems.map((p) => p.service).filter((s): s is string => Boolean(s)));
  // Cross references of every service (compose-references.ts reads defensively; the fuzz test holds it to that).
  for (const p of referenceProblems(file, new Set())) problems.push(problem('BH_ERR_COMPOSE_INVALID', p.path, p.message, locate(p.path)));
  const valid = new Set(Object.keys(services).filter((s) => !broken.has(s)));
  return { file, problems, warnings, valid, locate };
}

/**
 * Each service's env_file entries (paths relative to the project directory, read from the package
 * only) become its environment, under what `environment:` sets; `required: false` files may be missing.
 */
function applyEnvFiles(file: ComposeFile, files: PackageFiles): { path: KeyPath; message: string; confinement?: boolean }[] {
  const problems: { path: KeyPath; message: string; confinement?: boolean }[] = [];
  for (const [name, svc] of Object.entries(file.services)) {
    if (!svc || typeof svc !== 'object' || !('env_file' in svc)) continue;
    const entries = typeof svc.env_file === 'string' ? [svc.env_file] : Array.isArray(svc.env_file) ? svc.env_file : [];
    let env: Record<string, unknown> = {};
    entries.forEach((entry, i) => {
      const at = ['services', name, 'env_file', ...(typeof svc.env_file === 'string' ? [] : [i])];
      const e = typeof entry === 'string' ? { path: entry, required: true } : entry && typeof entry === 'object' ? entry as { path?: unknown; required?: unknown } : {};
      if (typeof e.path !== 'string') return;
      try {
        const read = files.read(e.path, '.');
        env = { ...env, ...parseDotEnv(read.text, read.path) };
      } catch (err) {
        if (err instanceof PackageFileError) {
          if (e.required === false && /does not exist/.test(err.message)) return;
          problems.push({ path: at, message: err.message, confinement: err.confinement });
        } else if (err instanceof InterpolationError) {
          problems.push({ path: at, message: err.message });
        } else throw err;
      }
    });
    const { env_file: _read, ...rest } = svc;
    file.services[name] = { ...rest, environment: { ...env, ...keyValueMap(svc.environment) } };
  }
  return problems;
}

/** One file as text: the merged model, or a ComposeError listing every problem. */
export function loadComposeText(text: string, source: string, variables: Readonly<Record<string, string>> = {}): LoadedCompose {
  const { file, problems, warnings } = analyzeCompose([{ text, name: source }], variables);
  if (problems.length) throw new ComposeError(source, problems);
  return { file, warnings };
}

/**
 * Services with `profiles` run only when one of them is active; services without run always.
 * Dropping an inactive service that an active one depends on is an error, as in Docker Compose.
 */
export function applyProfiles(file: ComposeFile, active: readonly string[], source: string): ComposeFile {
  const kept = Object.fromEntries(Object.entries(file.services).filter(([, s]) => {
    const profiles = (s as Record<string, unknown> | null)?.profiles;
    return !Array.isArray(profiles) || profiles.some((p) => active.includes(String(p)));
  }));
  const problems: ComposeProblem[] = [];
  for (const [name, s] of Object.entries(kept)) {
    for (const [d, how] of Object.entries(dependencyMap(s ?? {}))) {
      if (!kept[d] && file.services[d] && how.required) problems.push(problem('BH_ERR_COMPOSE_INVALID', ['services', name, 'depends_on'], `${d} is only in profiles ${JSON.stringify(file.services[d]!.profiles)}, none of them active`, { file: source }));
    }
  }
  if (Object.keys(kept).length === 0 && Object.keys(file.services).length > 0) problems.push(problem('BH_ERR_COMPOSE_INVALID', ['services'], `no service is enabled with the active profiles (${active.map((a) => quoteValue(a)).join(', ') || 'none'})`, { file: source }));
  if (problems.length) throw new ComposeError(source, problems);
  return { ...file, services: kept };
}
