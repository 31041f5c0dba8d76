// Which parts of the Compose Specification the bridge implements. A key outside these lists is a
// problem naming it (BH_ERR_COMPOSE_UNSUPPORTED), never silently dropped: a file that means more
// than the bridge would do is refused. Keys the isolation policy judges are "implemented" here and
// refused there with the rule that forbids them.
import type { KeyPath } from './compose-problems.js';

const TOP_LEVEL = new Set(['name', 'services', 'networks', 'volumes', 'secrets', 'configs', 'version', 'include']);

/** Service keys the bridge implements, or hands to the isolation policy to judge. */
export const SUPPORTED_SERVICE_KEYS = new Set([
  'image', 'command', 'entrypoint', 'environment', 'ports', 'expose', 'depends_on', 'healthcheck', 'restart',
  'deploy', 'mem_limit', 'cpus', 'pids_limit', 'read_only', 'cap_add', 'cap_drop', 'security_opt', 'labels',
  'profiles', 'networks', 'volumes', 'secrets', 'configs', 'working_dir', 'user', 'hostname', 'stop_signal',
  'stop_grace_period', 'tmpfs', 'init', 'tty', 'stdin_open', 'container_name', 'env_file', 'extends', 'platform',
  // Judged by the isolation policy and capped or refused rule by rule (container-runtime-policy.ts):
  'extra_hosts', 'logging', 'ulimits', 'sysctls',
  // Judged (and refused) by the isolation policy with a rule-specific message:
  'privileged', 'network_mode', 'pid', 'ipc', 'userns_mode', 'devices',
]);

/** Options of a deployment network; `external` is judged by the isolation policy. */
const NETWORK_KEYS = new Set(['driver', 'internal', 'labels', 'external', 'ipam']);
/** What a service may say about a network it joins. */
const SERVICE_NETWORK_KEYS = new Set(['aliases', 'ipv4_address', 'ipv6_address']);

const NESTED: Record<string, Set<string>> = {
  deploy: new Set(['resources', 'restart_policy']),
  'deploy.resources': new Set(['limits', 'reservations']),
  'deploy.resources.reservations': new Set(['cpus', 'memory', 'devices']),
};

/** Long-syntax mount types and their per-type options the bridge implements. */
const MOUNT_TYPES = new Set(['bind', 'volume', 'tmpfs']);
const MOUNT_OPTIONS: Record<string, Set<string>> = {
  bind: new Set(['create_host_path', 'selinux']),
  volume: new Set([]),
  tmpfs: new Set(['size', 'mode']),
};

const isObj = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

export function unsupportedKeys(doc: Record<string, unknown>): { path: KeyPath; message: string }[] {
  const problems: { path: KeyPath; message: string }[] = [];
  const no = (path: KeyPath, why = 'not supported by the Bulkhead container bridge') => problems.push({ path, message: why });
  for (const key of Object.keys(doc)) {
    if (!key.startsWith('x-') && !TOP_LEVEL.has(key)) no([key]);
  }
  if (isObj(doc.networks)) {
    for (const [name, def] of Object.entries(doc.networks)) {
      for (const [key, value] of Object.entries(isObj(def) ? def : {})) {
        if (key.startsWith('x-')) continue;
        if (name === 'default') no(['networks', name, key], "the default network is the vendor's own isolated network; it takes no options");
        else if (key === 'name') no(['networks', name, key], "engine network names are made from the vendor's identity (two vendors' networks never share one); drop name:");
        else if (key === 'driver' && value !== 'bridge') no(['networks', name, key], `driver ${JSON.stringify(value)}: deployment networks are isolated bridge networks`);
        else if (!NETWORK_KEYS.has(key)) no(['networks', name, key]);
      }
    }
  }
  if (isObj(doc.volumes)) {
    for (const [name, def] of Object.entries(doc.volumes)) {
      for (const key of Object.keys(isObj(def) ? def : {})) {
        if (key !== 'labels' && !key.startsWith('x-')) no(['volumes', name, key], 'not supported by the Bulkhead container bridge (local named volumes only)');
      }
    }
  }
  for (const kind of ['secrets', 'configs'] as const) {
    if (!isObj(doc[kind])) continue;
    for (const [name, def] of Object.entries(doc[kind] as Record<string, unknown>)) {
      if (!isObj(def) || typeof def.file !== 'string') no([kind, name], `only file-based ${kind} shipped in the package are supported`);
    }
  }
  if (!isObj(doc.services)) return problems;
  for (const [name, svc] of Object.entries(doc.services)) {
    if (!isObj(svc)) continue;
    for (const key of Object.keys(svc)) {
      if (key.startsWith('x-')) continue;
      if (key === 'build') no(['services', name, 'build'], 'images cannot be built on a device; ship an image (by reference, or as an image archive in the package)');
      else if (!SUPPORTED_SERVICE_KEYS.has(key)) no(['services', name, key]);
    }
    for (const [where, allowed] of Object.entries(NESTED)) {
      let node: unknown = svc;
      for (const part of where.split('.')) node = isObj(node) ? node[part] : undefined;
      if (!isObj(node)) continue;
      for (const key of Object.keys(node)) {
        if (!allowed.has(key) && !key.startsWith('x-')) no(['services', name, ...where.split('.'), key]);
      }
    }
    if (isObj(svc.networks)) {
      for (const [net, opts] of Object.entries(svc.networks)) {
        for (const key of Object.keys(isObj(opts) ? opts : {})) {
          if (!SERVICE_NETWORK_KEYS.has(key) && !key.startsWith('x-')) no(['services', name, 'networks', net, key]);
        }
      }
    }
    if (Array.isArray(svc.volumes)) {
      svc.volumes.forEach((m, i) => {
        if (!isObj(m) || typeof m.type !== 'string') return;
        if (!MOUNT_TYPES.has(m.type)) return no(['services', name, 'volumes', i, 'type'], `mount type ${JSON.stringify(m.type)} is not supported (bind, volume and tmpfs are)`);
        for (const kind of ['bind', 'volume', 'tmpfs']) {
          if (!isObj(m[kind])) continue;
          if (kind !== m.type) no(['services', name, 'volumes', i, kind], `${kind} options on a ${m.type} mount`);
          else for (const opt of Object.keys(m[kind] as object)) {
            if (!MOUNT_OPTIONS[kind]!.has(opt) && !opt.startsWith('x-')) no(['services', name, 'volumes', i, kind, opt]);
          }
        }
      });
    }
  }
  return problems;
}
