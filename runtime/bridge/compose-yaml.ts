// Reading one Compose file's YAML: YAML 1.2 with anchors, aliases and merge keys (<<), duplicate
// keys refused, alias expansion bounded. Compose's own tags `!reset` (drop the value inherited from
// a file merged before, or from the service extended) and `!override` (replace it instead of
// merging) are recognised — without Node's YAMLWarning for an unknown tag — and returned as the key
// paths they mark; the merge step (compose-merge.ts) acts on them. Key paths map back to lines.
import YAML, { isMap, isPair, isScalar, isSeq, LineCounter, type CollectionTag, type Node, type ScalarTag, YAMLMap, YAMLSeq } from 'yaml';
import type { KeyPath } from './compose-problems.js';

export interface ComposeTags {
  reset: KeyPath[];
  override: KeyPath[];
}

export interface ParsedYaml {
  value: unknown;
  tags: ComposeTags;
  /** The 1-based line of the node at a key path, when the path is in the file as written. */
  lineOf: (path: KeyPath) => number | undefined;
}

const COMPOSE_TAGS: (CollectionTag | ScalarTag)[] = ['!reset', '!override'].flatMap((tag) => [
  { tag, collection: 'map' as const, nodeClass: YAMLMap, resolve: (m: unknown) => m },
  { tag, collection: 'seq' as const, nodeClass: YAMLSeq, resolve: (s: unknown) => s },
  { tag, resolve: (text: string) => text },
]);

export class YamlProblem extends Error {
  constructor(message: string, readonly line?: number) { super(message); }
}

/** Text to a plain value plus its Compose tags; throws YamlProblem with the line of the first error. */
export function parseComposeYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, {
    merge: true, uniqueKeys: true, prettyErrors: false, lineCounter, customTags: COMPOSE_TAGS, strict: true,
  });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0]?.line;
    throw new YamlProblem(first.message.split('\n')[0]!, line);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    throw new YamlProblem((err as Error).message.split('\n')[0]!);
  }
  const tags: ComposeTags = { reset: [], override: [] };
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (!node || typeof node !== 'object') return;
    const tag = (node as Node).tag;
    if (tag === '!reset') tags.reset.push(path);
    else if (tag === '!override') tags.override.push(path);
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        walk(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) node.items.forEach((item, i) => walk(item, [...path, i]));
  };
  walk(doc.contents, []);
  const lineOf = (path: KeyPath): number | undefined => {
    let node: unknown = doc.contents;
    let last: number | undefined;
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(part));
        if (!pair) return undefined;
        node = pair.value ?? pair.key;
        const at = (pair.key as Node | undefined)?.range?.[0];
        if (at !== undefined) last = lineCounter.linePos(at).line;
      } else if (isSeq(node) && typeof part === 'number' && part < node.items.length) {
        node = node.items[part];
        const at = (node as Node | undefined)?.range?.[0];
        if (at !== undefined) last = lineCounter.linePos(at).line;
      } else return undefined;
    }
    return last;
  };
  return { value, tags, lineOf };
}
