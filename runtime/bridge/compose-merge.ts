// Merging Compose models, as the specification's merge rules say (override files given with
// several -f, a service and the one it `extends`): mappings merge key by key; single values are
// replaced; commands are replaced; lists that are really mappings (environment, labels,
// depends_on, networks...) merge by key; mounts, devices, secrets and configs merge by their
// target; other lists are appended without duplicates. `!reset` on a value drops what was
// inherited, `!override` replaces it whole (compose-yaml.ts finds the tags).
import { formatKeyPath, type KeyPath } from './compose-problems.js';
import type { ComposeTags } from './compose-yaml.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/** Service keys whose value is a command: the later file's replaces the earlier's. */
const REPLACED = new Set(['command', 'entrypoint', 'test', 'profiles']);
/** `list_or_dict` keys: "K=V" items or a mapping. */
const KEY_VALUE = new Set(['environment', 'labels', 'annotations', 'sysctls', 'args', 'options', 'driver_opts']);
/** Lists of names that are mappings in their long form. */
const NAME_MAP = new Set(['depends_on', 'networks']);
/** Lists merged by the container path (or name) each item targets. */
const BY_TARGET = new Set(['volumes', 'devices', 'secrets', 'configs']);

/** "K=V" / "K" items or a mapping, as a mapping (K alone: null, taken from elsewhere). */
export function keyValueMap(value: unknown): Obj {
  if (isObj(value)) return { ...value };
  if (!Array.isArray(value)) return {};
  return Object.fromEntries(value.map((item) => {
    const text = String(item);
    const i = text.indexOf('=');
    return i < 0 ? [text, null] : [text.slice(0, i), text.slice(i + 1)];
  }));
}

function nameMap(key: string, value: unknown): Obj {
  if (isObj(value)) return { ...value };
  if (!Array.isArray(value)) return {};
  return Object.fromEntries(value.map((n) => [String(n), key === 'depends_on' ? { condition: 'service_started' } : null]));
}

function targetOf(key: string, item: unknown): string {
  if (isObj(item)) return String(item.target ?? item.source ?? JSON.stringify(item));
  const text = String(item);
  if (key === 'secrets' || key === 'configs') return text;
  const parts = text.split(':');
  return parts.length >= 2 ? parts[1]! : parts[0]!;
}

function mergeList(key: string, base: unknown[], over: unknown[]): unknown[] {
  if (BY_TARGET.has(key)) {
    const out = new Map<string, unknown>();
    for (const item of [...base, ...over]) out.set(targetOf(key, item), item);
    return [...out.values()];
  }
  const seen = new Set<string>();
  return [...base, ...over].filter((item) => {
    const id = JSON.stringify(item);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

export interface TagSets { reset: Set<string>; override: Set<string> }

export function tagSets(tags: ComposeTags | undefined, prefix: KeyPath = []): TagSets {
  const keep = (paths: KeyPath[] | undefined) => new Set((paths ?? [])
    .filter((p) => prefix.every((part, i) => p[i] === part))
    .map((p) => formatKeyPath(p.slice(prefix.length))));
  return { reset: keep(tags?.reset), override: keep(tags?.override) };
}

/**
 * `over` merged onto `base` (neither is changed). `path` is where `over` sits in its own file, for
 * its tags (paths relative to the object being merged).
 */
export function mergeCompose(base: unknown, over: unknown, tags: TagSets, path: (string | number)[] = []): unknown {
  if (tags.override.has(formatKeyPath(path))) return over;
  const key = String(path[path.length - 1] ?? '');
  if (isObj(over) || isObj(base)) {
    if (!isObj(over) || !isObj(base)) {
      // One side in list form, the other as a mapping: both as mappings.
      if (KEY_VALUE.has(key)) return mergeObjects(keyValueMap(base), keyValueMap(over), tags, path);
      if (NAME_MAP.has(key)) return mergeObjects(nameMap(key, base), nameMap(key, over), tags, path);
      return over;
    }
    return mergeObjects(base, over, tags, path);
  }
  if (Array.isArray(over) && Array.isArray(base)) {
    if (REPLACED.has(key)) return over;
    if (KEY_VALUE.has(key)) return mergeObjects(keyValueMap(base), keyValueMap(over), tags, path);
    if (NAME_MAP.has(key)) return mergeObjects(nameMap(key, base), nameMap(key, over), tags, path);
    return mergeList(key, base, over);
  }
  return over;
}

function mergeObjects(base: Obj, over: Obj, tags: TagSets, path: (string | number)[]): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const at = [...path, k];
    if (tags.reset.has(formatKeyPath(at))) {
      delete out[k];
      continue;
    }
    out[k] = k in base ? mergeCompose(base[k], v, tags, at) : withoutResets(v, tags, at);
  }
  return out;
}

/** A value with nothing under it to merge with: its `!reset` keys are simply dropped. */
export function withoutResets(value: unknown, tags: TagSets, path: (string | number)[] = []): unknown {
  if (tags.reset.size === 0) return value;
  if (Array.isArray(value)) return value.map((v, i) => withoutResets(v, tags, [...path, i]));
  if (!isObj(value)) return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) {
    const at = [...path, k];
    if (!tags.reset.has(formatKeyPath(at))) out[k] = withoutResets(v, tags, at);
  }
  return out;
}
