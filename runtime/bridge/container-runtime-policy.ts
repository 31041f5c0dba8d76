// The Compose keys that tune a container's runtime, judged by the vendor's isolation policy:
// `extra_hosts` (no name may point at a protected address — loopback, link-local, metadata, the
// device's own addresses, its container networks, `host-gateway` — unless the operator allows it),
// `logging` (the engine's local drivers only, sizes and file counts capped), `ulimits` (only the
// names the policy caps, capped), `sysctls` (only namespaced ones the policy's patterns allow; by
// default `net.*`), `platform` (passed to the engine). What is enforced goes into the engine request.
import { ProtectedAddresses } from '../../host-apis/net/protected-addresses.js';
import { quoteValue } from '../../packages/quote-value.js';

export interface RuntimePolicy {
  /** sysctl name patterns a vendor may set (`net.*`: a trailing `*` matches any suffix). */
  sysctls: string[];
  /** Caps per ulimit name (soft and hard); names not listed are refused. */
  ulimits: Record<string, number>;
  log: { maxSizeBytes: number; maxFiles: number };
  /** extra_hosts entries may name protected addresses (the operator's choice; default false). */
  extraHostsProtected: boolean;
}

export const DEFAULT_RUNTIME_POLICY: RuntimePolicy = {
  sysctls: ['net.*'],
  ulimits: { nofile: 1024, nproc: 1024, core: 0, memlock: 64 * 1024, stack: 8 * 1024 * 1024 },
  log: { maxSizeBytes: 10 * 1024 * 1024, maxFiles: 3 },
  extraHostsProtected: false,
};

/** Drivers that keep the logs on the device: no log shipping to hosts the operator did not choose. */
const LOCAL_LOG_DRIVERS = new Set(['json-file', 'local', 'k8s-file', 'journald', 'none']);
/** Log options of the local drivers that only bound or describe them. */
const LOG_OPTIONS = new Set(['max-size', 'max-file', 'compress', 'mode', 'tag', 'labels', 'env']);

export interface RuntimeOptions {
  extraHosts: string[];
  logConfig?: { Type: string; Config: Record<string, string> };
  ulimits: { Name: string; Soft: number; Hard: number }[];
  sysctls: Record<string, string>;
  platform?: string;
}

type Refuse = (rule: string, message: string, key?: string) => void;

const isObj = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/** "10m", "1g", 4096 -> bytes, as docker's log options write sizes. */
function logBytes(value: unknown): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(String(value).trim());
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[m[2]!.toLowerCase()]!);
}

/** `extra_hosts` in both forms as [name, address] pairs ("name:addr", "name=addr", { name: addr | [addr] }). */
export function extraHostPairs(value: unknown): [string, string][] {
  if (isObj(value)) return Object.entries(value).flatMap(([n, a]) => (Array.isArray(a) ? a : [a]).map((x) => [n, String(x)] as [string, string]));
  if (!Array.isArray(value)) return [];
  return value.map((item) => {
    const text = String(item);
    const eq = text.indexOf('=');
    const colon = text.indexOf(':');
    const at = eq >= 0 ? eq : colon;
    return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + 1).replace(/^\[(.*)\]$/, '$1')];
  });
}

export function judgeRuntimeOptions(service: Record<string, unknown>, policy: RuntimePolicy, refuse: Refuse, adjust: (message: string) => void,
  protectedAddresses: ProtectedAddresses = new ProtectedAddresses()): RuntimeOptions {
  const out: RuntimeOptions = { extraHosts: [], ulimits: [], sysctls: {} };

  for (const [name, address] of extraHostPairs(service.extra_hosts)) {
    if (address === 'host-gateway') {
      if (!policy.extraHostsProtected) refuse('extra_hosts', `extra_hosts ${quoteValue(name)}: host-gateway names the device itself, a protected address; the operator allows it with extraHostsProtected: true`);
      else out.extraHosts.push(`${name}:host-gateway`);
      continue;
    }
    const c = protectedAddresses.classify(address);
    if (!c) {
      refuse('extra_hosts', `extra_hosts ${quoteValue(name)}: ${quoteValue(address)} is not an IP address`);
      continue;
    }
    if (c.kind && !policy.extraHostsProtected) {
      refuse('extra_hosts', `extra_hosts ${quoteValue(name)}: ${c.address.text} is a protected address (${ProtectedAddresses.describe(c)}); the operator allows it with extraHostsProtected: true`);
      continue;
    }
    out.extraHosts.push(`${name}:${c.address.text}`);
  }

  if (service.logging === undefined) {
    // No logging key: the engine's default driver, whose default size is unlimited host disk
    // (red-team 03: 68 MB of stdout in seconds); capped all the same.
    out.logConfig = { Type: '', Config: { 'max-size': String(policy.log.maxSizeBytes), 'max-file': String(policy.log.maxFiles) } };
  } else if (isObj(service.logging)) {
    const driver = typeof service.logging.driver === 'string' ? service.logging.driver : 'json-file';
    if (!LOCAL_LOG_DRIVERS.has(driver)) {
      refuse('logging', `logging driver ${quoteValue(driver)} sends logs off the device or to a service the operator did not choose; use ${[...LOCAL_LOG_DRIVERS].join(', ')}`);
    } else {
      const options = isObj(service.logging.options) ? service.logging.options : {};
      const config: Record<string, string> = {};
      for (const [k, v] of Object.entries(options)) {
        if (!LOG_OPTIONS.has(k)) refuse('logging', `logging option ${quoteValue(k)} is not one the bridge passes on (${[...LOG_OPTIONS].join(', ')})`);
        else if (v !== null && v !== undefined) config[k] = String(v);
      }
      if (driver !== 'none') {
        const size = config['max-size'] === undefined ? undefined : logBytes(config['max-size']);
        if (config['max-size'] !== undefined && size === undefined) refuse('logging', `logging max-size ${quoteValue(config['max-size'])} is not a size`);
        if (size === undefined || size > policy.log.maxSizeBytes) {
          if (size !== undefined) adjust(`logging max-size ${config['max-size']} capped to the policy's ${policy.log.maxSizeBytes} bytes`);
          config['max-size'] = String(policy.log.maxSizeBytes);
        }
        const files = config['max-file'] === undefined ? undefined : Number(config['max-file']);
        if (files === undefined || !Number.isInteger(files) || files < 1 || files > policy.log.maxFiles) {
          if (files !== undefined) adjust(`logging max-file ${config['max-file']} capped to the policy's ${policy.log.maxFiles}`);
          config['max-file'] = String(policy.log.maxFiles);
        }
      }
      out.logConfig = { Type: driver, Config: config };
    }
  }

  if (isObj(service.ulimits)) {
    for (const [name, value] of Object.entries(service.ulimits)) {
      const cap = policy.ulimits[name];
      if (cap === undefined) {
        refuse('ulimits', `ulimits ${quoteValue(name)} is not one this vendor may set (${Object.keys(policy.ulimits).join(', ') || 'none'})`);
        continue;
      }
      const soft = isObj(value) ? Number(value.soft) : Number(value);
      const hard = isObj(value) ? Number(value.hard) : Number(value);
      // -1 is "unlimited" in Compose: above every cap.
      const capped = (n: number) => (n < 0 || n > cap ? cap : n);
      if (soft < 0 || soft > cap || hard < 0 || hard > cap) adjust(`ulimits ${name} ${soft}:${hard} capped to the policy's ${cap}`);
      const s = capped(soft);
      out.ulimits.push({ Name: name, Soft: Math.min(s, capped(hard)), Hard: capped(hard) });
    }
  }

  const sysctls = isObj(service.sysctls) ? Object.entries(service.sysctls)
    : Array.isArray(service.sysctls) ? service.sysctls.map((s) => { const t = String(s); const i = t.indexOf('='); return [i < 0 ? t : t.slice(0, i), i < 0 ? '' : t.slice(i + 1)] as [string, unknown]; }) : [];
  for (const [name, value] of sysctls) {
    const allowed = policy.sysctls.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
    if (!allowed) refuse('sysctls', `sysctls ${quoteValue(name)} is not allowed for this vendor (allowed: ${policy.sysctls.join(', ') || 'none'})`);
    else out.sysctls[name] = String(value ?? '');
  }

  if (typeof service.platform === 'string') out.platform = service.platform;
  return out;
}
