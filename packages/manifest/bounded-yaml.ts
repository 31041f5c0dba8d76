// Parsing untrusted YAML with a bounded cost: size first, then a lexer pass that counts nodes
// (stopping at the cap, before anything is composed), then composition without the yaml library's
// duplicate-key check, which compares every key with every earlier one (quadratic: 40k keys took
// 14 s), replaced by one linear pass with a set per mapping.
import YAML, { CST, isMap, isScalar, Lexer, LineCounter, type Document } from 'yaml';
import type { ManifestLimits } from './manifest-limits.js';

export class BoundedYamlError extends Error {
  /** `limit`: a size or node-count cap was hit (the text was not parsed), rather than a YAML error. */
  constructor(message: string, readonly limit = false) {
    super(message);
  }
}

// Lexer tokens that become a node (or an item of a block sequence) once composed.
const NODE_TOKENS = new Set(['scalar', 'single-quoted-scalar', 'double-quoted-scalar', 'block-scalar-header', 'alias', 'flow-map-start', 'flow-seq-start', 'seq-item-ind']);

/** Counts nodes with yaml's lexer, stopping as soon as the count passes `max`. */
export function countYamlNodes(text: string, max: number): { count: number; over: boolean } {
  let count = 0;
  for (const token of new Lexer().lex(text)) {
    if (NODE_TOKENS.has(CST.tokenType(token) ?? '')) {
      count += 1;
      if (count > max) return { count, over: true };
    }
  }
  return { count, over: false };
}

function duplicateKeyProblem(doc: Document, lines: LineCounter): string | undefined {
  let problem: string | undefined;
  YAML.visit(doc, {
    Map(_key, map) {
      if (!isMap(map)) return undefined;
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = pair.key;
        if (key !== null && !isScalar(key)) {
          problem = `YAML: map keys must be plain values, not collections (line ${lines.linePos((key as { range?: [number] }).range?.[0] ?? 0).line})`;
          return YAML.visit.BREAK;
        }
        // The key as it becomes an object property: `1` and "1" are one property, so one key.
        const name = key === null || key.value === null ? '' : String(key.value);
        if (seen.has(name)) {
          problem = `YAML: map keys must be unique; "${name.slice(0, 80)}" appears twice (line ${lines.linePos(key?.range?.[0] ?? 0).line})`;
          return YAML.visit.BREAK;
        }
        seen.add(name);
      }
      return undefined;
    },
  });
  return problem;
}

/** Parses one YAML document within `limits`; throws BoundedYamlError with a one-line reason. */
export function parseBoundedYaml(text: string, limits: ManifestLimits, maxAliasCount = 100): unknown {
  const bytes = Buffer.byteLength(text);
  if (bytes > limits.maxBytes) throw new BoundedYamlError(`${bytes} bytes, over the limit of ${limits.maxBytes} (manifest.maxBytes in the device policy); not parsed`, true);
  const nodes = countYamlNodes(text, limits.maxNodes);
  if (nodes.over) throw new BoundedYamlError(`more than ${limits.maxNodes} YAML nodes (manifest.maxNodes in the device policy); not parsed`, true);
  const lines = new LineCounter();
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter: lines });
  if (doc.errors.length > 0) throw new BoundedYamlError(`YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const duplicate = duplicateKeyProblem(doc, lines);
  if (duplicate) throw new BoundedYamlError(duplicate);
  try {
    return doc.toJS({ maxAliasCount });
  } catch (err) {
    throw new BoundedYamlError(`YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}
