// Interpolation makes strings: `read_only: ${RO:-true}` is "true", `published: ${PORT}` is "8080".
// The Compose Specification's schema accepts a string wherever a boolean or number may come from a
// variable; docker compose then converts the value to the field's real type. So do we, here, for the
// fields the schema types as ["boolean"|"integer"|"number", "string"], before the schema and the
// policy see the document: a string that is not of the type is an error at its path.
import type { KeyPath } from './compose-problems.js';
import { quoteValue } from '../../packages/quote-value.js';

type Kind = 'boolean' | 'integer' | 'number' | 'port' | 'mode';

/** Paths relative to a service (`*` = any key or index) and the type their strings are cast to. */
const SERVICE_FIELDS: [string, Kind][] = [
  ['attach', 'boolean'], ['init', 'boolean'], ['oom_kill_disable', 'boolean'], ['privileged', 'boolean'], ['read_only', 'boolean'],
  ['stdin_open', 'boolean'], ['tty', 'boolean'], ['healthcheck.disable', 'boolean'], ['depends_on.*.restart', 'boolean'],
  ['depends_on.*.required', 'boolean'], ['env_file.*.required', 'boolean'], ['volumes.*.read_only', 'boolean'],
  ['volumes.*.bind.create_host_path', 'boolean'], ['volumes.*.volume.nocopy', 'boolean'],
  ['scale', 'integer'], ['mem_swappiness', 'integer'], ['pids_limit', 'integer'], ['healthcheck.retries', 'integer'],
  ['deploy.replicas', 'integer'], ['deploy.resources.limits.pids', 'integer'], ['deploy.restart_policy.max_attempts', 'integer'],
  ['ulimits.*', 'integer'], ['ulimits.*.soft', 'integer'], ['ulimits.*.hard', 'integer'], ['deploy.resources.reservations.devices.*.count', 'integer'],
  ['cpus', 'number'], ['cpu_shares', 'number'], ['cpu_quota', 'number'], ['cpu_period', 'number'], ['cpu_rt_period', 'number'],
  ['cpu_rt_runtime', 'number'], ['deploy.resources.limits.cpus', 'number'], ['deploy.resources.reservations.cpus', 'number'],
  ['ports.*.target', 'port'], ['ports.*.published', 'port'],
  ['secrets.*.mode', 'mode'], ['configs.*.mode', 'mode'], ['volumes.*.tmpfs.mode', 'mode'],
];
const TOP_FIELDS: [string, Kind][] = [
  ...SERVICE_FIELDS.map(([p, k]) => [`services.*.${p}`, k] as [string, Kind]),
  ['networks.*.internal', 'boolean'], ['networks.*.attachable', 'boolean'], ['networks.*.enable_ipv6', 'boolean'], ['networks.*.enable_ipv4', 'boolean'],
  ['networks.*.external', 'boolean'], ['volumes.*.external', 'boolean'], ['secrets.*.external', 'boolean'], ['configs.*.external', 'boolean'],
];
const PATTERNS = TOP_FIELDS.map(([p, k]) => ({ parts: p.split('.'), kind: k }));

// YAML 1.1 spellings, which docker compose also takes for booleans in variables.
const TRUE = new Set(['true', 'yes', 'y', 'on']);
const FALSE = new Set(['false', 'no', 'n', 'off']);

function cast(value: string, kind: Kind): { value: unknown } | { error: string } {
  const text = value.trim();
  switch (kind) {
    case 'boolean': {
      const lower = text.toLowerCase();
      if (TRUE.has(lower)) return { value: true };
      if (FALSE.has(lower)) return { value: false };
      return { error: `${quoteValue(value)} is not a boolean (true or false)` };
    }
    case 'integer':
      return /^[-+]?\d+$/.test(text) ? { value: Number(text) } : { error: `${quoteValue(value)} is not an integer` };
    case 'number':
      return text !== '' && Number.isFinite(Number(text)) ? { value: Number(text) } : { error: `${quoteValue(value)} is not a number` };
    case 'port':
      // A single port becomes a number; a range ("8080-8082") stays as written for the port parser.
      if (/^\d+$/.test(text)) return { value: Number(text) };
      return /^\d+-\d+$/.test(text) ? { value: text } : { error: `${quoteValue(value)} is not a port or a port range` };
    case 'mode':
      // File modes are octal, as in chmod ("0440", "440"); a YAML number is taken as written (0o440 = 288).
      return /^0?[0-7]{1,4}$/.test(text) ? { value: parseInt(text, 8) } : { error: `${quoteValue(value)} is not a file mode (octal, e.g. "0440")` };
  }
}

function matches(pattern: string[], path: KeyPath): boolean {
  return pattern.length === path.length && pattern.every((p, i) => p === '*' || p === String(path[i]));
}

/**
 * Converts, in place, the strings at typed fields to their type. Returns the problems (the value is
 * left as it was; the schema accepts a string there, so the problem is reported only here).
 */
export function castToSchemaTypes(doc: Record<string, unknown>): { path: KeyPath; message: string }[] {
  const problems: { path: KeyPath; message: string }[] = [];
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (!node || typeof node !== 'object') return;
    const entries: [string | number, unknown][] = Array.isArray(node) ? node.map((v, i) => [i, v]) : Object.entries(node);
    for (const [key, value] of entries) {
      const at = [...path, key];
      if (typeof value === 'string') {
        const pattern = PATTERNS.find((p) => matches(p.parts, at));
        if (!pattern) continue;
        const r = cast(value, pattern.kind);
        if ('error' in r) problems.push({ path: at, message: r.error });
        else (node as Record<string | number, unknown>)[key] = r.value;
      } else if (at.length < 7) {
        walk(value, at);
      }
    }
  };
  walk(doc, []);
  return problems;
}
