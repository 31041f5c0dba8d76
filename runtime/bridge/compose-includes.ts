// `include:` (other Compose projects taken into this one) and `extends:` (a service built on
// another, in this file or another one), resolved per file before files are merged, as docker
// compose does. Every file they name is read from the package only (package-files.ts), goes
// through the same per-file stages as the first, and has its paths rewritten relative to the file
// that takes it in (compose-paths.ts). Cycles, missing services and names defined twice are
// located problems; nothing else is thrown.
import path from 'node:path';
import type { KeyPath } from './compose-problems.js';
import { mergeCompose, tagSets } from './compose-merge.js';
import { rebaseDocument, rebaseService } from './compose-paths.js';
import type { ComposeTags } from './compose-yaml.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/**
 * A file as the per-file stages left it: its document, tags, the name problems cite, its path in
 * the package (what cycles are found by) and its directory there.
 */
export interface LoadedFile { doc: Obj; tags: ComposeTags; name: string; key: string; dir: string }

export interface ReferenceContext {
  /** Loads a file named (relative to `fromDir`) by another; undefined (its problem reported) when it cannot be. */
  load(relative: string, fromDir: string, at: { file: string; path: KeyPath }, variables?: Readonly<Record<string, string>>): LoadedFile | undefined;
  /** Reads an env file for an include's variables; undefined (its problem reported) when it cannot be. */
  envFile(relative: string, fromDir: string, at: { file: string; path: KeyPath }): Record<string, string> | undefined;
  report(at: { file: string; path: KeyPath }, message: string, confinement?: boolean): void;
  variables: Readonly<Record<string, string>>;
}

const TOP_SECTIONS = ['services', 'networks', 'volumes', 'secrets', 'configs'] as const;

/** The include items as lists of paths with their options. */
function includeItems(value: unknown): { paths: string[]; projectDirectory?: string; envFiles: string[] }[] {
  if (!Array.isArray(value)) return [];
  return value.map((item) => {
    if (typeof item === 'string') return { paths: [item], envFiles: [] };
    if (!isObj(item)) return { paths: [], envFiles: [] };
    const paths = typeof item.path === 'string' ? [item.path] : Array.isArray(item.path) ? item.path.map(String) : [];
    const envFiles = typeof item.env_file === 'string' ? [item.env_file] : Array.isArray(item.env_file) ? item.env_file.map(String) : [];
    return { paths, envFiles, ...(typeof item.project_directory === 'string' ? { projectDirectory: item.project_directory } : {}) };
  });
}

/**
 * The file with its `include:` taken in (recursively; `chain` holds the files being included, to
 * find cycles) and its services' `extends:` resolved. Returns a new document.
 */
export function resolveFileReferences(file: LoadedFile, ctx: ReferenceContext, chain: readonly string[] = []): Obj {
  let doc: Obj = { ...file.doc };
  const here = (p: KeyPath) => ({ file: file.name, path: p });
  if ('include' in doc) {
    const included = doc.include;
    delete doc.include;
    includeItems(included).forEach((item, i) => {
      let variables = ctx.variables;
      for (const env of item.envFiles) {
        const vars = ctx.envFile(env, file.dir, here(['include', i, 'env_file']));
        if (vars) variables = { ...vars, ...variables };
      }
      for (const p of item.paths) {
        const target = path.posix.normalize(path.posix.join(file.dir, p));
        if (chain.includes(target) || target === file.key) {
          ctx.report(here(['include', i]), `include cycle: ${[...chain, file.key, target].join(' -> ')}`);
          continue;
        }
        const loaded = ctx.load(p, file.dir, here(['include', i]), variables);
        if (!loaded) continue;
        // Its relative paths are relative to its project directory: its own, or the one the include names.
        const projectDir = item.projectDirectory ? path.posix.normalize(path.posix.join(file.dir, item.projectDirectory)) : loaded.dir;
        const resolved = rebaseDocument(resolveFileReferences({ ...loaded, dir: projectDir }, { ...ctx, variables }, [...chain, file.key]), projectDir, file.dir);
        for (const section of TOP_SECTIONS) {
          const theirs = resolved[section];
          if (!isObj(theirs)) continue;
          const ours = isObj(doc[section]) ? { ...(doc[section] as Obj) } : {};
          for (const [name, def] of Object.entries(theirs)) {
            if (name in ours) {
              ctx.report(here([section, name]), `${section.slice(0, -1)} "${name}" is defined both here and in the included ${loaded.name}; rename one`);
              continue;
            }
            ours[name] = def;
          }
          doc[section] = ours;
        }
      }
    });
  }
  if (isObj(doc.services)) {
    const services = { ...(doc.services as Obj) };
    const done = new Map<string, Obj>();
    const resolve = (name: string, stack: string[]): Obj | undefined => {
      if (done.has(name)) return done.get(name);
      const svc = services[name];
      if (!isObj(svc)) return undefined;
      if (!('extends' in svc)) { done.set(name, svc); return svc; }
      const ext = svc.extends;
      const spec = typeof ext === 'string' ? { service: ext } : isObj(ext) ? ext : {};
      const at = here(['services', name, 'extends']);
      const { extends: _, ...own } = svc;
      done.set(name, own);
      if (typeof spec.service !== 'string') return own; // the schema reports the shape
      let base: Obj | undefined;
      let baseDir = file.dir;
      if (typeof spec.file === 'string') {
        const target = path.posix.normalize(path.posix.join(file.dir, spec.file));
        const key = `${target}#${spec.service}`;
        if (stack.includes(key)) {
          ctx.report(at, `extends cycle: ${[...stack, key].join(' -> ')}`);
          return own;
        }
        const other = ctx.load(spec.file, file.dir, at);
        if (!other) return own;
        const resolved = resolveFileReferences(other, ctx, [...chain, file.key]);
        base = isObj(resolved.services) ? (resolved.services as Obj)[spec.service] as Obj | undefined : undefined;
        baseDir = other.dir;
        if (!isObj(base)) {
          ctx.report(at, `extends the service "${spec.service}", which ${other.name} does not define`);
          return own;
        }
      } else {
        const key = `${file.key}#${spec.service}`;
        if (spec.service === name || stack.includes(key)) {
          ctx.report(at, `extends cycle: ${[...stack, `${file.key}#${name}`, key].join(' -> ')}`);
          return own;
        }
        base = resolve(spec.service, [...stack, `${file.key}#${name}`]);
        if (!isObj(base)) {
          ctx.report(at, `extends the service "${spec.service}", which this file does not define`);
          return own;
        }
      }
      const merged = mergeCompose(rebaseService(base, baseDir, file.dir), own, tagSets(file.tags, ['services', name])) as Obj;
      done.set(name, merged);
      return merged;
    };
    for (const name of Object.keys(services)) services[name] = resolve(name, []) ?? services[name];
    doc = { ...doc, services };
  }
  return doc;
}
