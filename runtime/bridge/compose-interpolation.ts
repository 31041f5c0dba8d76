// Compose variable interpolation as docker compose does it: $VAR, ${VAR}, ${VAR:-default} /
// ${VAR-default} (unset-or-empty / unset), ${VAR:?error} / ${VAR?error}, ${VAR:+replacement} /
// ${VAR+replacement}, defaults and replacements that hold interpolations themselves
// (${A:-${B:-x}}), and $$ for a literal $. A variable used without a default and not set becomes ""
// with a warning naming it. Values come from the deployment's parameters and the package's .env
// file (whose own values may use ${...} too), never from the device's environment.
import type { KeyPath } from './compose-problems.js';
import { formatKeyPath } from './compose-problems.js';

export class InterpolationError extends Error {}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

interface Scope {
  vars: Readonly<Record<string, string>>;
  /** Variables used without a default while unset, in order of first use. */
  unset: Set<string>;
}

/** The text of `${...}` starting at `open` (the index of "{"), up to its matching "}", nested `${` counted. */
function bracedEnd(text: string, open: number): number {
  let depth = 1;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '$' && text[i + 1] === '$') { i++; continue; }
    if (c === '$' && text[i + 1] === '{') { depth++; i++; continue; }
    if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

function substitute(text: string, scope: Scope, where: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar < 0) { out += text.slice(i); break; }
    out += text.slice(i, dollar);
    const next = text[dollar + 1];
    if (next === '$') { out += '$'; i = dollar + 2; continue; }
    if (next === '{') {
      const close = bracedEnd(text, dollar + 1);
      if (close < 0) throw new InterpolationError(`${where}: unterminated "\${" in ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)}`);
      out += braced(text.slice(dollar + 2, close), scope, where);
      i = close + 1;
      continue;
    }
    NAME.lastIndex = dollar + 1;
    const bare = NAME.exec(text);
    if (bare) {
      out += lookup(bare[0], scope);
      i = dollar + 1 + bare[0].length;
      continue;
    }
    // A "$" before anything else ("$1", "a $ b") is left as written.
    out += '$';
    i = dollar + 1;
  }
  return out;
}

function lookup(name: string, scope: Scope): string {
  const value = scope.vars[name];
  if (value === undefined) {
    scope.unset.add(name);
    return '';
  }
  return value;
}

function braced(expr: string, scope: Scope, where: string): string {
  NAME.lastIndex = 0;
  const m = NAME.exec(expr);
  if (!m) throw new InterpolationError(`${where}: invalid interpolation "\${${expr}}": expected a variable name`);
  const name = m[0];
  const rest = expr.slice(name.length);
  if (rest === '') return lookup(name, scope);
  const op = /^(:?[-?+])/.exec(rest)?.[1];
  if (!op) throw new InterpolationError(`${where}: invalid interpolation "\${${expr}}": expected :-, -, :?, ?, :+ or + after ${name}`);
  const arg = rest.slice(op.length);
  const value = scope.vars[name];
  const unset = value === undefined;
  const empty = unset || value === '';
  // The argument is interpolated only when it is used, so an unused ${B:?...} inside it is no error.
  switch (op) {
    case ':-': return empty ? substitute(arg, scope, where) : value!;
    case '-': return unset ? substitute(arg, scope, where) : value!;
    case ':?': if (empty) throw new InterpolationError(`${where}: required variable ${name} is missing a value: ${substitute(arg, scope, where) || 'no message'}`); return value!;
    case '?': if (unset) throw new InterpolationError(`${where}: required variable ${name} is missing a value: ${substitute(arg, scope, where) || 'no message'}`); return value!;
    case ':+': return empty ? '' : substitute(arg, scope, where);
    default: return unset ? '' : substitute(arg, scope, where); // '+'
  }
}

/** Interpolates one string; throws InterpolationError for a malformed or failed interpolation. */
export function interpolateString(text: string, vars: Readonly<Record<string, string>>, where: string, unset: Set<string> = new Set()): string {
  return substitute(text, { vars, unset }, where);
}

export interface InterpolatedDocument {
  value: unknown;
  problems: { path: KeyPath; message: string }[];
  /** Variables used without a default and not set ("" was used), with where each was first used. */
  unset: Map<string, string>;
}

/** Interpolates every string value (not keys) of a parsed document, collecting every problem. */
export function interpolateDocument(node: unknown, vars: Readonly<Record<string, string>>): InterpolatedDocument {
  const problems: InterpolatedDocument['problems'] = [];
  const unset = new Map<string, string>();
  const walk = (value: unknown, path: (string | number)[]): unknown => {
    if (typeof value === 'string') {
      if (!value.includes('$')) return value;
      const where = formatKeyPath(path);
      const seen = new Set<string>();
      try {
        const out = interpolateString(value, vars, where, seen);
        for (const name of seen) if (!unset.has(name)) unset.set(name, where);
        return out;
      } catch (err) {
        if (!(err instanceof InterpolationError)) throw err;
        problems.push({ path, message: err.message.slice(where.length + 2) });
        return value;
      }
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i]));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, [...path, k])]));
    return value;
  };
  return { value: walk(node, []), problems, unset };
}

/**
 * Parses a .env file: KEY=VALUE lines, # comments, optional `export `, single quotes (literal),
 * double quotes (escapes \n \t \" \\) and unquoted values; `${...}` in double-quoted and unquoted
 * values is interpolated from `outer` (the deployment's parameters, which win) and the lines above.
 */
export function parseDotEnv(text: string, source = '.env', outer: Readonly<Record<string, string>> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new InterpolationError(`${source}:${i + 1}: expected KEY=VALUE`);
    let value = m[2]!;
    const where = `${source}:${i + 1}`;
    const scope = { ...out, ...outer };
    if (/^'.*'$/.test(value)) value = value.slice(1, -1);
    else if (/^".*"$/.test(value)) {
      const inner = value.slice(1, -1).replace(/\\([nt"\\])/g, (_, c: string) => ({ n: '\n', t: '\t', '"': '"', '\\': '\\' })[c]!);
      value = interpolateString(inner, scope, where);
    } else value = interpolateString(value.replace(/\s+#.*$/, ''), scope, where);
    out[m[1]!] = value;
  });
  return out;
}
