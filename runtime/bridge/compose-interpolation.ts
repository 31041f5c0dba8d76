// Compose variable interpolation, as the Compose Specification defines it: $VAR, ${VAR},
// ${VAR:-default} / ${VAR-default} (unset-or-empty / unset), ${VAR:?error} / ${VAR?error},
// ${VAR:+replacement} / ${VAR+replacement}, and $$ for a literal $. Values come from the
// deployment's parameters and the package's .env file, never from the device's own environment.

export class InterpolationError extends Error {}

const PATTERN = /\$(?:\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;

function resolve(expr: string, vars: Readonly<Record<string, string>>, where: string): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$/s.exec(expr);
  if (!m) throw new InterpolationError(`${where}: invalid interpolation "\${${expr}}"`);
  const [, name, op, arg = ''] = m;
  const value = vars[name!];
  const unset = value === undefined;
  const empty = unset || value === '';
  switch (op) {
    case undefined: return value ?? '';
    case ':-': return empty ? interpolateString(arg, vars, where) : value!;
    case '-': return unset ? interpolateString(arg, vars, where) : value!;
    case ':?': if (empty) throw new InterpolationError(`${where}: required variable ${name} is missing: ${arg || 'no message'}`); return value!;
    case '?': if (unset) throw new InterpolationError(`${where}: required variable ${name} is missing: ${arg || 'no message'}`); return value!;
    case ':+': return empty ? '' : interpolateString(arg, vars, where);
    case '+': return unset ? '' : interpolateString(arg, vars, where);
    default: throw new InterpolationError(`${where}: invalid interpolation "\${${expr}}"`);
  }
}

export function interpolateString(text: string, vars: Readonly<Record<string, string>>, where: string): string {
  return text.replace(PATTERN, (whole, braced: string | undefined, bare: string | undefined) => {
    if (whole === '$$') return '$';
    return resolve(braced ?? bare!, vars, where);
  });
}

/** Interpolates every string value (not keys) of a parsed document; `path` tracks where we are. */
export function interpolateDocument(node: unknown, vars: Readonly<Record<string, string>>, path = ''): unknown {
  if (typeof node === 'string') return interpolateString(node, vars, path || '(document)');
  if (Array.isArray(node)) return node.map((v, i) => interpolateDocument(v, vars, `${path}[${i}]`));
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateDocument(v, vars, path ? `${path}.${k}` : k)]));
  }
  return node;
}

/** Parses a .env file: KEY=VALUE lines, # comments, optional quotes, `export ` prefix. */
export function parseDotEnv(text: string, source = '.env'): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new InterpolationError(`${source}:${i + 1}: expected KEY=VALUE`);
    let value = m[2]!;
    if (/^".*"$/.test(value)) value = value.slice(1, -1).replace(/\\n/g, '\n').replace(/\\"/g, '"');
    else if (/^'.*'$/.test(value)) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, '');
    out[m[1]!] = value;
  });
  return out;
}
